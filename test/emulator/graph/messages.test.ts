import { describe, expect, it } from 'vitest';
import { appIdProperty, immutable, startGraph } from './support.js';

const graph = await startGraph();
const alice = '/users/alice@contoso.test';
const bob = '/users/bob@contoso.test';

describe('messages', () => {
  it('creates a draft, reads it back, changes and sends it to the recipients inbox', async () => {
    const created = await graph.call('POST', `${alice}/messages`, {
      body: {
        subject: 'Hello',
        body: { contentType: 'text', content: 'Hi Bob' },
        toRecipients: [{ emailAddress: { address: 'bob@contoso.test' } }],
        singleValueExtendedProperties: [{ id: appIdProperty, value: 'app-1' }],
      },
      headers: immutable,
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('preference-applied')).toBe('IdType="ImmutableId"');
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ subject: 'Hello', isDraft: true });
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
    const sent = await graph.call('POST', `${alice}/messages/${id}/send`);
    expect(sent.status).toBe(202);
    const inSent = await graph.call('GET', `${alice}/messages/${id}`, { headers: immutable });
    expect(inSent.status).toBe(200);
    expect(inSent.body.isDraft).toBe(false);
    const inbox = await graph.call<{ value: Record<string, unknown>[] }>('GET', `${bob}/mailFolders/inbox/messages`);
    expect(inbox.body.value.map((m) => m.subject)).toContain('Hello again');
  });
});
