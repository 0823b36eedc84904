import { describe, expect, it } from 'vitest';
import { appIdProperty, immutable, startGraph } from './support.js';

/** Messages over Graph: drafts, reads with $select/$expand/$filter, PATCH, If-Match, DELETE, send, ids on a move. */

const graph = await startGraph({ mailboxes: ['alice@contoso.test', 'bob@contoso.test', 'carol@contoso.test'] });
const alice = '/users/alice@contoso.test';
const bob = '/users/bob@contoso.test';

type List = { value: Record<string, unknown>[]; '@odata.nextLink'?: string };

async function draft(subject: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const created = await graph.call('POST', `${alice}/messages`, {
    body: {
      subject,
      body: { contentType: 'text', content: `Body of ${subject}` },
      toRecipients: [{ emailAddress: { address: 'bob@contoso.test', name: 'Bob' } }],
      ...extra,
    },
    headers,
  });
  expect(created.status).toBe(201);
  return created.body;
}

describe('messages', () => {
  it('creates a draft, reads it back, changes and sends it to the recipient inbox', async () => {
    const created = await draft(
      'Hello',
      { singleValueExtendedProperties: [{ id: appIdProperty, value: 'app-1' }] },
      immutable,
    );
    expect(created).toMatchObject({ subject: 'Hello', isDraft: true, importance: 'normal' });
    const id = created.id as string;
    const got = await graph.call(
      'GET',
      `${alice}/messages/${id}?$select=subject&$expand=singleValueExtendedProperties($filter=id eq '${appIdProperty}')`,
    );
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      subject: 'Hello',
      singleValueExtendedProperties: [{ id: appIdProperty, value: 'app-1' }],
    });
    expect(got.body.body).toBeUndefined();
    const patched = await graph.call('PATCH', `${alice}/messages/${id}`, {
      body: { subject: 'Hello again', importance: 'high' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ subject: 'Hello again', importance: 'high' });
    expect((await graph.call('POST', `${alice}/messages/${id}/send`)).status).toBe(202);
    const inSent = await graph.call('GET', `${alice}/mailFolders/sentitems/messages/${id}`, { headers: immutable });
    expect(inSent.status).toBe(200);
    expect(inSent.body.isDraft).toBe(false);
    const inbox = await graph.call<List>('GET', `${bob}/mailFolders/inbox/messages`);
    const received = inbox.body.value.find((m) => m.subject === 'Hello again');
    expect(received).toMatchObject({ isRead: false, from: { emailAddress: { address: 'alice@contoso.test' } } });
  });

  it('converts the body to the type asked for with Prefer outlook.body-content-type', async () => {
    const created = await draft('Bodies', { body: { contentType: 'html', content: '<p>Hi <b>there</b></p>' } });
    const text = await graph.call('GET', `${alice}/messages/${created.id}`, {
      headers: { prefer: 'outlook.body-content-type="text"' },
    });
    expect(text.body.body).toEqual({ contentType: 'text', content: 'Hi there' });
    expect(text.headers.get('preference-applied')).toBe('outlook.body-content-type="text"');
    const html = await graph.call('GET', `${alice}/messages/${created.id}`);
    expect(html.body.body).toEqual({ contentType: 'html', content: '<p>Hi <b>there</b></p>' });
  });

  it('keeps an immutable id across a move and gives a new regular id', async () => {
    const created = await draft('Moved', {}, immutable);
    const immutableId = created.id as string;
    const regular = (await graph.call('GET', `${alice}/messages/${immutableId}`)).body.id as string;
    expect(regular).not.toBe(immutableId);
    expect((await graph.call('DELETE', `${alice}/messages/${regular}`)).status).toBe(204);
    expect((await graph.call('GET', `${alice}/messages/${regular}`)).status).toBe(404);
    const moved = await graph.call('GET', `${alice}/messages/${immutableId}`);
    expect(moved.status).toBe(200);
    expect(moved.body.id).not.toBe(regular);
    expect(moved.body.parentFolderId).toBe((await graph.call('GET', `${alice}/mailFolders/deleteditems`)).body.id);
  });

  it('finds a message by its application id with $filter and refuses other filters', async () => {
    await draft('Stamped', { singleValueExtendedProperties: [{ id: appIdProperty, value: "it's-42" }] });
    await draft('Other', { singleValueExtendedProperties: [{ id: appIdProperty, value: 'app-43' }] });
    const filter = `singleValueExtendedProperties/Any(ep: ep/id eq '${appIdProperty}' and ep/value eq 'it''s-42')`;
    const found = await graph.call<List>('GET', `${alice}/messages?$filter=${encodeURIComponent(filter)}`);
    expect(found.status).toBe(200);
    expect(found.body.value.map((m) => m.subject)).toEqual(['Stamped']);
    const refused = await graph.call(
      'GET',
      `${alice}/messages?$filter=${encodeURIComponent("startswith(subject,'S')")}`,
    );
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: { code: 'ErrorInvalidUrlQueryFilter' } });
  });

  it('pages a list with $top and @odata.nextLink', async () => {
    const first = await graph.call<List>('GET', `${alice}/mailFolders/drafts/messages?$top=1&$select=subject`);
    expect(first.body.value).toHaveLength(1);
    const next = first.body['@odata.nextLink'];
    expect(decodeURIComponent(next ?? '')).toContain('$skip=1');
    const second = await graph.get<List>(next ?? '');
    expect(second.status).toBe(200);
    expect(second.body.value.length).toBeGreaterThan(0);
  });

  it('refuses a PATCH with a stale If-Match, an unknown property and bad JSON', async () => {
    const created = await draft('Conflict');
    const etag = created['@odata.etag'] as string;
    const id = created.id as string;
    expect(
      (
        await graph.call('PATCH', `${alice}/messages/${id}`, {
          body: { subject: 'first' },
          headers: { 'if-match': etag },
        })
      ).status,
    ).toBe(200);
    const stale = await graph.call('PATCH', `${alice}/messages/${id}`, {
      body: { subject: 'second' },
      headers: { 'if-match': etag },
    });
    expect(stale.status).toBe(412);
    const unknown = await graph.call('PATCH', `${alice}/messages/${id}`, { body: { colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(String((unknown.body.error as { message: string }).message)).toContain('colour');
    const response = await fetch(`${graph.emulator.graphUrl}${alice}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${graph.token}`, 'content-type': 'application/json' },
      body: '{"subject":',
    });
    expect(response.status).toBe(400);
  });

  it('answers 404 for an unknown user and MailboxNotEnabledForRESTAPI for one marked on-premises', async () => {
    const unknown = await graph.call('GET', '/users/nobody@contoso.test/messages');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'ErrorInvalidUser' } });
    expect((await graph.call('GET', '/users/nobody@contoso.test')).status).toBe(404);
    graph.emulator.admin.markOnPremises('carol@contoso.test');
    const onPremises = await graph.call('GET', '/users/carol@contoso.test/messages');
    expect(onPremises.status).toBe(404);
    expect(onPremises.body).toMatchObject({ error: { code: 'MailboxNotEnabledForRESTAPI' } });
  });

  it('answers 401 without a valid token', async () => {
    const response = await fetch(`${graph.emulator.graphUrl}${alice}/messages`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
  });
});
