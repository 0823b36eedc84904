import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { errors } from '../../../src/errors.js';
import { type ResyncProgress, registerAdminRoutes } from '../../../src/http/routes/admin.js';
import type {
  ControlPort,
  SyncItemsOutcome,
  SyncItemsProgress,
  SyncItemsRequest,
} from '../../../src/ports/control.port.js';
import { httpDeps, mailboxStatus, statusWith } from '../deps.js';

const token = 'a-long-admin-token-for-tests';
const alice = 'Alice@Contoso.test';
const asAdmin = { authorization: `Bearer ${token}` };

/** A ControlPort that keeps every call; a resync ends when the test says so. */
function fakeControl() {
  const calls: Array<{ action: string; argument?: unknown }> = [];
  let finish:
    | { resolve: (o: SyncItemsOutcome) => void; reject: (e: unknown) => void; progress: (p: SyncItemsProgress) => void }
    | undefined;
  const control: ControlPort = {
    syncUsers: () => void calls.push({ action: 'syncUsers' }),
    syncItems: (request: SyncItemsRequest, onProgress?: (progress: SyncItemsProgress) => void) => {
      calls.push({ action: 'syncItems', argument: request });
      return new Promise((resolve, reject) => {
        finish = { resolve, reject, progress: onProgress ?? (() => {}) };
      });
    },
    retryFailed: async (filter) => {
      calls.push({ action: 'retryFailed', argument: filter });
      return { retried: 2, rereading: filter.user ? [filter.user] : [alice, 'bob@contoso.test'] };
    },
  };
  return { control, calls, resync: () => finish };
}

/** The admin actions (src/http/routes/admin.ts) through inject, with the token configured unless said otherwise. */
describe('admin routes', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(adminToken: string | undefined) {
    const fake = fakeControl();
    const { deps, records } = httpDeps({
      adminToken,
      control: fake.control,
      status: () =>
        statusWith({ mailboxes: [mailboxStatus(alice, 'live'), mailboxStatus('bob@contoso.test', 'live')] }),
    });
    const announced: ResyncProgress[] = [];
    app = Fastify();
    registerAdminRoutes(app, deps, (_event, data) => announced.push(data));
    await app.ready();
    const post = (url: string, payload?: unknown, headers: Record<string, string> = asAdmin) =>
      (app as FastifyInstance).inject({
        method: 'POST',
        url,
        headers,
        ...(payload === undefined ? {} : { payload: payload as string }),
      });
    return { ...fake, records, announced, post };
  }

  it('runs nothing without the token, and logs each refusal with its code', async () => {
    const { post, calls, records } = await start(token);
    const cases: Array<[Record<string, string>, number, string]> = [
      [{}, 401, 'EXH_HTTP_UNAUTHORIZED'],
      [{ authorization: 'Bearer not-the-token' }, 403, 'EXH_HTTP_FORBIDDEN'],
    ];
    for (const [headers, status, code] of cases) {
      for (const url of ['/api/users/sync', '/api/outbox/retry', `/api/mailboxes/${alice}/resync`]) {
        const response = await post(url, {}, headers);
        expect([response.statusCode, response.json().error.code], url).toEqual([status, code]);
      }
    }
    expect(calls).toEqual([]);
    expect(records.filter((r) => r.msg === `Admin action refused: ${errors.httpForbidden().message}`)).toHaveLength(3);
    expect(records.filter((r) => r.cat === 'W' && r.code === 'EXH_HTTP_UNAUTHORIZED')).toHaveLength(3);
  });

  it('refuses every action while no token is configured', async () => {
    const { post, calls } = await start(undefined);
    const response = await post('/api/users/sync', undefined, { authorization: 'Bearer anything-at-all' });
    expect([response.statusCode, response.json().error.code]).toEqual([403, 'EXH_HTTP_ADMIN_DISABLED']);
    expect(calls).toEqual([]);
  });

  it('answers a resync at once with 202, reads Exchange again for the registered user, and tells its progress and end', async () => {
    const { post, calls, resync, announced, records } = await start(token);
    const response = await post('/api/mailboxes/alice@CONTOSO.test/resync', { itemType: 'calendar' });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ accepted: true, action: 'resync', user: alice, itemType: 'calendar' });
    expect(calls).toEqual([
      {
        action: 'syncItems',
        argument: { direction: 0, user: alice, itemType: 'calendar', add: true, chg: true, del: true },
      },
    ]);
    resync()?.progress({ user: alice, itemType: 'calendar', done: 5, total: null });
    resync()?.resolve({ added: 1, changed: 2, deleted: 3, failed: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(announced).toEqual([
      { user: alice, itemType: 'calendar', done: 5, total: null, finished: false },
      { user: alice, itemType: 'calendar', finished: true, outcome: { added: 1, changed: 2, deleted: 3, failed: 0 } },
    ]);
    expect(records.map((r) => r.msg)).toContain(`Resync of ${alice} done: 1 added, 2 changed, 3 deleted, 0 failed`);
  });

  it('tells a failed resync as its end, with the error, and logs it', async () => {
    const { post, resync, announced, records } = await start(token);
    expect((await post(`/api/mailboxes/${alice}/resync`)).statusCode).toBe(202);
    resync()?.reject(errors.mailboxNotConnected(alice));
    await new Promise((resolve) => setImmediate(resolve));
    expect(announced).toEqual([
      {
        user: alice,
        itemType: null,
        finished: true,
        error: { message: expect.stringContaining(errors.mailboxNotConnected(alice).message) },
      },
    ]);
    expect(records).toContainEqual(
      expect.objectContaining({ cat: 'E', msg: expect.stringMatching(/^Resync of .* failed: /) }),
    );
  });

  it('refuses a resync of an unknown user or type, or with a body that is no object, before starting it', async () => {
    const { post, calls } = await start(token);
    const unknown = await post('/api/mailboxes/nobody@contoso.test/resync', {});
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'EXH_HTTP_NOT_FOUND']);
    const fax = await post(`/api/mailboxes/${alice}/resync`, { itemType: 'fax' });
    expect(fax.statusCode).toBe(400);
    expect(fax.json().error.message).toContain('itemType must be one of calendar, contact, email, task, or absent');
    const list = await post(`/api/mailboxes/${alice}/resync`, [{ itemType: 'task' }]);
    expect(list.statusCode).toBe(400);
    expect(list.json().error.message).toContain('the body must be a JSON object');
    expect(calls).toEqual([]);
  });

  it('re-registers the users with 202', async () => {
    const { post, calls } = await start(token);
    const response = await post('/api/users/sync');
    expect([response.statusCode, response.json()]).toEqual([202, { accepted: true, action: 'syncUsers' }]);
    expect(calls).toEqual([{ action: 'syncUsers' }]);
  });

  it('retries failed rows of everyone, or of one registered user by any spelling, and refuses anything else', async () => {
    const { post, calls } = await start(token);
    const everyone = await post('/api/outbox/retry');
    expect(everyone.json()).toEqual({ action: 'retryFailed', retried: 2, rereading: [alice, 'bob@contoso.test'] });
    const one = await post('/api/outbox/retry', { user: 'ALICE@contoso.test' });
    expect(one.json()).toEqual({ action: 'retryFailed', retried: 2, rereading: [alice], user: alice });
    expect(calls).toEqual([
      { action: 'retryFailed', argument: {} },
      { action: 'retryFailed', argument: { user: alice } },
    ]);
    const notString = await post('/api/outbox/retry', { user: 42 });
    expect([notString.statusCode, notString.json().error.message]).toEqual([
      400,
      expect.stringContaining('user must be a string (an SMTP address), or absent'),
    ]);
    const unknown = await post('/api/outbox/retry', { user: 'nobody@contoso.test' });
    expect(unknown.statusCode).toBe(404);
    expect(calls).toHaveLength(2);
  });
});
