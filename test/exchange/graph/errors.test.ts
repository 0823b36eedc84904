import { describe, expect, it } from 'vitest';
import { isPermanent } from '../../../src/errors.js';
import {
  fromGraphStatus,
  type GraphErrorContext,
  mailboxOf,
  parseGraphError,
  permissionFor,
  retryAfterMs,
  safeUrl,
} from '../../../src/exchange/graph/errors.js';

/** Graph's error answers as the catalogue's errors (src/exchange/graph/errors.ts), status by status and code by code. */

const base = 'https://graph.microsoft.com/v1.0';
const ann = 'ann@contoso.test';
const context = (path: string, method = 'GET'): GraphErrorContext => ({
  url: `${base}${path}`,
  method,
  user: ann,
  account: '00000000-0000-0000-0000-0000000e4e00',
});
const graphBody = (code: string, message: string) =>
  Buffer.from(
    JSON.stringify({ error: { code, message, innerError: { 'request-id': 'r-1', date: '2026-12-05T10:00:00' } } }),
  );
const map = (status: number, path: string, body?: Buffer, headers: Record<string, string> = {}, backOffMs?: number) =>
  fromGraphStatus(status, new Headers(headers), body, context(path), backOffMs);

describe("Graph's error body", () => {
  it('reads code, message and the request-id, from bytes, text or an object', () => {
    const body = graphBody('ErrorItemNotFound', 'The specified object was not found in the store.');
    const expected = {
      code: 'ErrorItemNotFound',
      message: 'The specified object was not found in the store.',
      requestId: 'r-1',
    };
    expect(parseGraphError(body)).toEqual(expected);
    expect(parseGraphError(body.toString())).toEqual(expected);
    expect(parseGraphError(JSON.parse(body.toString()))).toEqual(expected);
  });

  it('is undefined for what is not one: HTML from a proxy, nothing, an error that is not an object', () => {
    expect(parseGraphError(Buffer.from('<html>Bad gateway</html>'))).toBeUndefined();
    expect(parseGraphError(undefined)).toBeUndefined();
    expect(parseGraphError({ error: 'invalid_client' })).toBeUndefined();
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-12-05T10:00:00Z');

  it('takes seconds, or an HTTP date judged against the given clock', () => {
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Sat, 05 Dec 2026 10:00:45 GMT', now)).toBe(45_000);
    expect(retryAfterMs('Sat, 05 Dec 2026 09:59:00 GMT', now)).toBe(0);
  });

  it('is undefined when absent or unreadable (then the client backs off exponentially)', () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-5', now)).toBeUndefined();
    expect(retryAfterMs('1.5', now)).toBeUndefined();
  });
});

describe('statuses and codes → the catalogue', () => {
  it('429 is EXH_EXCHANGE_THROTTLED and 503/504 EXH_EXCHANGE_UNAVAILABLE, retryable, with the back-off asked for', () => {
    const throttled = map(
      429,
      `/users/${ann}/messages`,
      graphBody('ApplicationThrottled', 'Too many requests'),
      {},
      30_000,
    );
    expect(throttled.code).toBe('EXH_EXCHANGE_THROTTLED');
    expect(throttled.retryable).toBe(true);
    expect(throttled.details.backOffMs).toBe(30_000);
    expect(throttled.message).toContain('HTTP 429 ApplicationThrottled');
    for (const status of [503, 504]) {
      const error = map(status, `/users/${ann}/events`, undefined, {}, 5_000);
      expect(error.code, String(status)).toBe('EXH_EXCHANGE_UNAVAILABLE');
      expect(error.retryable).toBe(true);
      expect(error.details.backOffMs).toBe(5_000);
    }
  });

  it('401 (after the one refresh) is EXH_EXCHANGE_AUTH_FAILED, permanent, saying whether the token lacks permissions', () => {
    const noRoles = map(
      401,
      `/users/${ann}/messages`,
      graphBody('InvalidAuthenticationToken', 'Either scp or roles claim need to be present in the token.'),
    );
    expect(noRoles.code).toBe('EXH_EXCHANGE_AUTH_FAILED');
    expect(isPermanent(noRoles)).toBe(true);
    expect(noRoles.message).toMatch(/carries no application permission.*admin consent/);
    const refused = map(401, `/users/${ann}/messages`, graphBody('InvalidAuthenticationToken', 'Invalid audience.'));
    expect(refused.code).toBe('EXH_EXCHANGE_AUTH_FAILED');
    expect(refused.message).toMatch(/refuses its token even after a refresh.*exchange\.graph\.tenant/);
  });

  it('403 names the application permission the URL needs, and the RBAC role where RBAC for Applications applies', () => {
    const cases: Array<[string, string, string | undefined]> = [
      [`/users/${ann}/mailFolders/inbox/messages/delta`, 'Mail.ReadWrite', 'Application Mail.ReadWrite'],
      [`/users/${ann}/messages/AAMk1/send`, 'Mail.Send', 'Application Mail.Send'],
      [`/users/${ann}/calendarView/delta`, 'Calendars.ReadWrite', 'Application Calendars.ReadWrite'],
      [`/users/${ann}/events/AAMk2`, 'Calendars.ReadWrite', 'Application Calendars.ReadWrite'],
      [`/users/${ann}/contactFolders/contacts/contacts/delta`, 'Contacts.ReadWrite', 'Application Contacts.ReadWrite'],
      [`/users/${ann}/todo/lists/L1/tasks/delta`, 'Tasks.ReadWrite.All', undefined],
      ['/users/translateExchangeIds', 'User.Read.All', undefined],
    ];
    for (const [path, permission, role] of cases) {
      expect(permissionFor(`${base}${path}`), path).toEqual(role ? { permission, rbacRole: role } : { permission });
      const error = map(
        403,
        path,
        graphBody('ErrorAccessDenied', 'Access is denied. Check credentials and try again.'),
      );
      expect(error.code, path).toBe('EXH_EXCHANGE_PERMISSION_DENIED');
      expect(isPermanent(error)).toBe(true);
      expect(error.message, path).toContain(`application permission ${permission} with admin consent`);
      expect(error.message).toContain('ErrorAccessDenied: Access is denied');
      if (role) expect(error.message, path).toContain(`"${role}" whose management scope includes ${ann}`);
      else expect(error.message, path).not.toContain('management scope');
      expect(error.details.permission).toBe(permission);
    }
    expect(
      map(403, `/users/${ann}/messages`, graphBody('Authorization_RequestDenied', 'Insufficient privileges')).code,
    ).toBe('EXH_EXCHANGE_PERMISSION_DENIED');
  });

  it('MailboxNotEnabledForRESTAPI says the mailbox is likely on-premises and to route it to EWS, whatever the status', () => {
    for (const status of [404, 400, 401]) {
      const error = map(
        status,
        `/users/${ann}/messages`,
        graphBody('MailboxNotEnabledForRESTAPI', 'REST API is not yet supported for this mailbox.'),
      );
      expect(error.code).toBe('EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD');
      expect(isPermanent(error)).toBe(true);
      expect(error.message).toMatch(
        /likely on-premises: route it to EWS \(exh_backend 'ews' or exchange\.backend 'auto'/,
      );
    }
  });

  it('404 on the user is EXH_EXCHANGE_MAILBOX_NOT_FOUND; 404 elsewhere EXH_EXCHANGE_ITEM_NOT_FOUND naming the item', () => {
    expect(map(404, `/users/${ann}`, graphBody('ResourceNotFound', 'Resource could not be discovered.')).code).toBe(
      'EXH_EXCHANGE_MAILBOX_NOT_FOUND',
    );
    for (const code of ['ErrorInvalidUser', 'MailboxNotFound', 'Request_ResourceNotFound']) {
      expect(map(404, `/users/${ann}/messages/delta`, graphBody(code, 'no such user')).code, code).toBe(
        'EXH_EXCHANGE_MAILBOX_NOT_FOUND',
      );
    }
    const item = map(404, `/users/${ann}/events/AAMkAGI2%3D/attachments`, graphBody('ErrorItemNotFound', 'Not found.'));
    expect(item.code).toBe('EXH_EXCHANGE_ITEM_NOT_FOUND');
    expect(item.details).toEqual({ user: ann, itemId: 'AAMkAGI2=' });
    expect(map(404, `/users/${ann}/todo/lists/L1/tasks/T9`, graphBody('ResourceNotFound', 'gone')).details.itemId).toBe(
      'T9',
    );
  });

  it('410 and syncStateNotFound are EXH_EXCHANGE_INVALID_SYNC_STATE, with Location as the fresh start', () => {
    const location = `${base}/users/${ann}/mailFolders/inbox/messages/delta`;
    const gone = map(
      410,
      `/users/${ann}/mailFolders/inbox/messages/delta?$deltatoken=abc`,
      graphBody('SyncStateNotFound', 'gone'),
      {
        location,
      },
    );
    expect(gone.code).toBe('EXH_EXCHANGE_INVALID_SYNC_STATE');
    expect(gone.details).toEqual({
      user: ann,
      folder: `/v1.0/users/${ann}/mailFolders/inbox/messages/delta`,
      location,
    });
    expect(gone.message).not.toContain('abc');
    const state = map(
      400,
      `/users/${ann}/contacts/delta?$skiptoken=x`,
      graphBody('syncStateNotFound', 'The sync state was not found.'),
    );
    expect(state.code).toBe('EXH_EXCHANGE_INVALID_SYNC_STATE');
    expect(state.details.location).toBeUndefined();
  });

  it('412 is EXH_EXCHANGE_CONFLICT; 400 EXH_EXCHANGE_REQUEST_FAILED with Graph code and message', () => {
    const conflict = map(412, `/users/${ann}/events/E1`, graphBody('ErrorIrresolvableConflict', 'changed'));
    expect(conflict.code).toBe('EXH_EXCHANGE_CONFLICT');
    expect(conflict.details.itemId).toBe('E1');
    const bad = map(400, `/users/${ann}/events`, graphBody('ErrorInvalidProperty', "Property 'foo' does not exist."));
    expect(bad.code).toBe('EXH_EXCHANGE_REQUEST_FAILED');
    expect(bad.message).toContain("ErrorInvalidProperty: Property 'foo' does not exist.");
    expect(map(400, `/users/${ann}/events`, Buffer.from('<html/>')).message).toContain('HTTP 400');
  });

  it('500/502 are unavailable (retryable); a redirect is refused naming where it pointed, without its query', () => {
    expect(map(500, `/users/${ann}/events`).code).toBe('EXH_EXCHANGE_UNAVAILABLE');
    expect(map(502, `/users/${ann}/events`).retryable).toBe(true);
    const redirect = map(302, `/users/${ann}/events`, undefined, { location: 'https://evil.example/x?token=secret' });
    expect(redirect.code).toBe('EXH_EXCHANGE_REQUEST_FAILED');
    expect(redirect.message).toContain('https://evil.example/x');
    expect(redirect.message).not.toContain('secret');
  });
});

describe('URLs', () => {
  it("finds the mailbox of /users/{u}, decoded, and of users('u')", () => {
    expect(mailboxOf(`${base}/users/ann%40contoso.test/messages`)).toBe(ann);
    expect(mailboxOf(`/users/${ann}`)).toBe(ann);
    expect(mailboxOf(`${base}/users('${ann}')/events`)).toBe(ann);
    expect(mailboxOf(`${base}/subscriptions`)).toBeUndefined();
  });

  it('leaves the query (delta tokens, tempauth) out of messages', () => {
    expect(safeUrl('https://outlook.office.com/api/upload?tempauth=xyz')).toBe('https://outlook.office.com/api/upload');
  });
});
