import { describe, expect, it } from 'vitest';
import { fetchToken, startGraph } from './support.js';

/** Throttling and the admin API's Graph faults, seen over HTTP and in the request log. */

const graph = await startGraph();
const alice = '/users/alice@contoso.test';
const admin = graph.emulator.admin;
type Page = { value: Record<string, unknown>[]; '@odata.deltaLink'?: string };

describe('throttling', () => {
  it('answers a 5th concurrent request on one mailbox with 429 MailboxConcurrency, and logs each request', async () => {
    const since = Date.now();
    admin.faults.add({
      kind: 'latency',
      ms: 1500,
      mailbox: 'alice@contoso.test',
      operations: ['graph.messages'],
      calls: 4,
    });
    const answers = await Promise.all(Array.from({ length: 5 }, () => graph.call('GET', `${alice}/messages`)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const throttled = answers.find((a) => a.status === 429);
    expect(throttled?.headers.get('retry-after')).toBe('1');
    expect(throttled?.body).toMatchObject({
      error: { code: 'ApplicationThrottled', message: expect.stringContaining('MailboxConcurrency') },
    });
    const logged = admin.requests({ mailbox: 'alice@contoso.test', operation: 'graph.messages', since });
    expect(logged).toHaveLength(5);
    expect(logged.filter((r) => r.fault === 'ApplicationThrottled')).toHaveLength(1);
    const served = logged.filter((r) => r.status === 200);
    const overlapping = Math.max(
      ...served.map((r) => served.filter((o) => o.at <= r.at && o.answeredAt > r.at).length),
    );
    expect(overlapping).toBeLessThanOrEqual(4);
  });

  it('passes another mailbox while one is throttled by a fault, with Retry-After', async () => {
    admin.faults.add({ kind: 'graphThrottled', retryAfterSeconds: 7, mailbox: 'alice@contoso.test', calls: 1 });
    const throttled = await graph.call('GET', `${alice}/messages`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect((await graph.call('GET', '/users/bob@contoso.test/messages')).status).toBe(200);
    expect((await graph.call('GET', `${alice}/messages`)).status).toBe(200);
  });

  it('answers 503 for graphUnavailable, switched on through the admin HTTP API by operation name', async () => {
    const response = await fetch(`${graph.emulator.adminUrl}/faults`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${graph.emulator.serviceAccount}:${graph.emulator.password}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ kind: 'graphUnavailable', retryAfterSeconds: 3, operations: ['graph.events'], calls: 1 }),
    });
    expect(response.status).toBe(201);
    const unavailable = await graph.call('GET', `${alice}/events`);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('3');
    expect((await graph.call('GET', `${alice}/events`)).status).toBe(200);
  });
});

describe('delta faults', () => {
  const start = () => `${graph.emulator.graphUrl}${alice}/mailFolders/inbox/messages/delta`;

  async function deltaLink(): Promise<string> {
    const page = await graph.get<Page>(start());
    return page.body['@odata.deltaLink'] ?? '';
  }

  it('answers 410 with a fresh initial link for graphDeltaGone and graphSyncStateNotFound', async () => {
    const link = await deltaLink();
    admin.faults.add({ kind: 'graphDeltaGone', calls: 1 });
    const gone = await graph.get(link);
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ error: { code: 'resyncRequired' } });
    expect(gone.headers.get('location')).toBe(start());
    admin.faults.add({ kind: 'graphSyncStateNotFound', calls: 1 });
    const notFound = await graph.get(link);
    expect(notFound.status).toBe(410);
    expect(notFound.body).toMatchObject({ error: { code: 'SyncStateNotFound' } });
    const restarted = await graph.get<Page>(notFound.headers.get('location') ?? '');
    expect(restarted.status).toBe(200);
    expect((await graph.get(link)).status).toBe(200);
  });

  it('replays a round from the start for graphDeltaReplay', async () => {
    admin.createItem('alice@contoso.test', { kind: 'Message', folder: 'inbox', Subject: 'Replayed' });
    const link = await deltaLink();
    expect((await graph.get<Page>(link)).body.value).toEqual([]);
    admin.faults.add({ kind: 'graphDeltaReplay', calls: 1 });
    const replayed = await graph.get<Page>(link);
    expect(replayed.body.value.map((m) => m.subject)).toContain('Replayed');
    expect((await graph.get<Page>(link)).body.value).toEqual([]);
  });

  it('refuses a fault naming an operation that does not exist', () => {
    expect(() => admin.faults.add({ kind: 'graphThrottled', operations: ['graph.nothing'] })).toThrow(
      /Unknown operation/,
    );
  });
});

describe('expired tokens', () => {
  it('answers 401 InvalidAuthenticationToken once the tokens are expired, and serves a new one', async () => {
    expect(admin.expireGraphTokens()).toBeGreaterThan(0);
    const expired = await graph.call('GET', `${alice}/messages`);
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ error: { code: 'InvalidAuthenticationToken' } });
    expect(admin.requests({ operation: 'graph.unauthenticated' }).at(-1)).toMatchObject({ status: 401 });
    const token = await fetchToken(graph.emulator);
    const fresh = await fetch(`${graph.emulator.graphUrl}${alice}/messages`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(fresh.status).toBe(200);
  });
});
