import { get as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { allLive, type RunningConnector, startConnector, users } from './connector.js';

const adminToken = 'a-long-admin-token-for-tests';
const alice = users[0] as string;

// biome-ignore lint/suspicious/noExplicitAny: the answers' shapes are what the assertions check.
const json = async (response: Response): Promise<any> => response.json();

describe('HTTP API of a running connector (emulator, PGlite)', () => {
  let connector: RunningConnector;
  const get = (path: string, init?: RequestInit) => fetch(`${connector.url}${path}`, init);
  const post = (path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(`${connector.url}${path}`, {
      method: 'POST',
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body }),
    });
  const asAdmin = { authorization: `Bearer ${adminToken}` };

  beforeAll(async () => {
    connector = await startConnector({ adminToken });
    await allLive(connector);
  }, 60_000);

  afterAll(async () => {
    await connector?.stop();
  });

  it('says it is alive, and ready with the share of live mailboxes', async () => {
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(await json(health)).toMatchObject({ status: 'alive' });
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(await json(ready)).toEqual({
      ready: true,
      database: expect.stringMatching(/^ready/),
      mailboxes: { total: 3, live: 3, liveShare: 1 },
    });
  });

  it('gives the status of the database, the pool and every mailbox with its item-type children', async () => {
    const status = await json(await get('/api/status'));
    expect(status.database).toMatchObject({ ready: true, machine: 'database' });
    expect(status.pool).toEqual({ concurrency: 8, running: expect.any(Number), queued: expect.any(Number) });
    expect(status.mailboxes).toMatchObject({ total: 3, live: 3, byState: { live: 3 } });
    const mailbox = status.mailboxes.list.find((m: { user: string }) => m.user === alice);
    expect(mailbox).toMatchObject({
      state: 'live',
      machine: { machine: 'mailbox', paths: ['connected', 'connected.live'] },
      catchUp: { done: 4, total: 4 },
    });
    expect(mailbox.children.map((child: { actor: string; machine: string }) => [child.actor, child.machine])).toEqual([
      ['itemType:calendar', 'itemType'],
      ['itemType:contact', 'itemType'],
      ['itemType:email', 'itemType'],
      ['itemType:task', 'itemType'],
    ]);
    const details = await json(await get(`/api/mailboxes/${encodeURIComponent(alice.toUpperCase())}`));
    expect(details).toMatchObject({ user: alice, state: 'live' });
    expect(details.transitions.map((t: { to: string[] }) => t.to.at(-1))).toContain('connected.live');
  });

  it('scrapes exh_ metrics with real values after a change is synchronised', async () => {
    connector.emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Metrics review',
      Start: '2026-12-01T09:00:00Z',
      End: '2026-12-01T10:00:00Z',
    });
    await vi.waitFor(
      async () => {
        const result = await connector.instance.query<{ n: number }>('SELECT count(*)::int AS n FROM calendar_item');
        expect(result.rows[0]?.n).toBe(1);
      },
      { timeout: 15_000, interval: 100 },
    );
    const response = await get('/metrics');
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((match) => match[1]);
    expect(names.every((name) => name?.startsWith('exh_'))).toBe(true);
    expect(text).toContain(
      'exh_items_synchronised_total{item_type="calendar",direction="exchange_to_db",action="add"} 1',
    );
    expect(text).toContain('exh_mailboxes{state="live"} 3');
    expect(text).toContain('exh_exchange_pool_size 8');
    expect(text).toMatch(/exh_exchange_pool_pending \d+/);
    expect(text).toMatch(/exh_exchange_request_duration_seconds_count\{operation="syncFolder",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/exh_database_call_duration_seconds_count\{operation="applyChanges",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/exh_notification_to_database_lag_seconds_count\{item_type="calendar"\} 1/);
    expect(text).toMatch(/exh_subscription_age_seconds\{user="alice@contoso.test"\} \d/);
    const status = await json(await get('/api/status'));
    expect(status.items.perMinute).toContainEqual({ itemType: 'calendar', direction: 'exchange_to_db', count: 1 });
  });

  it('streams state changes as server-sent events', async () => {
    const controller = new AbortController();
    const response = await get('/api/events', { signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    // Re-registering users moves the supervisor's users region through readingUsers and back.
    expect((await post('/api/users/sync', undefined, asAdmin)).status).toBe(202);
    let text = '';
    while (!text.includes('running.users.readingUsers')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const event = text.split('\n\n').find((block) => block.includes('running.users.readingUsers')) ?? '';
    expect(event).toContain('event: transition');
    const data = JSON.parse(event.slice(event.indexOf('data: ') + 6));
    expect(data).toMatchObject({
      actor: 'supervisor',
      machine: 'supervisor',
      event: 'users.sync',
      to: ['running', 'running.users', 'running.users.readingUsers', 'running.cluster', 'running.cluster.single'],
    });
  });

  it('refuses admin actions without the token (401) and with a wrong one (403), in JSON that says what to do', async () => {
    const missing = await post('/api/users/sync');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect(await json(missing)).toEqual({
      error: { code: 'EXH_HTTP_UNAUTHORIZED', message: expect.stringContaining('listeners.http.adminToken') },
    });
    const wrong = await post(`/api/mailboxes/${alice}/resync`, '{}', { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(403);
    expect((await json(wrong)).error.code).toBe('EXH_HTTP_FORBIDDEN');
    const notBearer = await post('/api/outbox/retry', '{}', { authorization: `Basic ${adminToken}` });
    expect(notBearer.status).toBe(401);
  });

  it('answers bad input with a clear JSON error', async () => {
    const malformed = await post(`/api/mailboxes/${alice}/resync`, '{"itemType": ', asAdmin);
    expect(malformed.status).toBe(400);
    expect(await json(malformed)).toEqual({
      error: { code: 'EXH_HTTP_BAD_REQUEST', message: expect.stringContaining('not valid JSON') },
    });
    const oversized = await post('/api/outbox/retry', JSON.stringify({ user: 'x'.repeat(20_000) }), asAdmin);
    expect(oversized.status).toBe(413);
    expect((await json(oversized)).error.message).toContain('larger than');
    const badType = await post(`/api/mailboxes/${alice}/resync`, '{"itemType":"fax"}', asAdmin);
    expect(badType.status).toBe(400);
    expect((await json(badType)).error.message).toContain('calendar, contact, email, task');
    const notObject = await post('/api/outbox/retry', '[1]', asAdmin);
    expect(notObject.status).toBe(400);
    const unknown = await post('/api/mailboxes/nobody@contoso.test/resync', '{}', asAdmin);
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error).toEqual({
      code: 'EXH_HTTP_NOT_FOUND',
      message: expect.stringContaining('nobody@contoso.test is not a registered user'),
    });
    expect((await get('/api/mailboxes/nobody@contoso.test')).status).toBe(404);
    const noRoute = await get('/api/nothing');
    expect(noRoute.status).toBe(404);
    expect((await json(noRoute)).error.code).toBe('EXH_HTTP_NOT_FOUND');
  });

  it('runs admin actions through the ControlPort with the token, and streams a resync to its end', async () => {
    const controller = new AbortController();
    const events = await get('/api/events', { signal: controller.signal });
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    const resync = await post(`/api/mailboxes/${alice}/resync`, '{"itemType":"calendar"}', asAdmin);
    expect(resync.status).toBe(202);
    expect(await json(resync)).toEqual({ accepted: true, action: 'resync', user: alice, itemType: 'calendar' });
    let text = '';
    while (!text.includes('"finished":true')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const end = text
      .split('\n\n')
      .find((block) => block.startsWith('event: resync') && block.includes('"finished":true'));
    expect(JSON.parse(end?.slice(end.indexOf('data: ') + 6) ?? '{}')).toEqual({
      user: alice,
      itemType: 'calendar',
      finished: true,
      // The one appointment of the metrics test is in Exchange and in the database already.
      outcome: { added: expect.any(Number), changed: expect.any(Number), deleted: 0, failed: 0 },
    });
    expect(connector.records.some((r) => String(r.msg).startsWith(`Resync of ${alice} done`))).toBe(true);
    // Nothing failed yet: no outbox row to retry, and alice's mailbox is read again after the answer.
    const none = await post('/api/outbox/retry', JSON.stringify({ user: alice }), asAdmin);
    expect(none.status).toBe(200);
    expect(await json(none)).toEqual({ action: 'retryFailed', retried: 0, rereading: [alice], user: alice });
    // Two failed rows of alice (one of bob's stays failed): exactly those two are set pending again.
    await connector.instance.query(
      `INSERT INTO exh_outbox (exh_user, exh_item_type, exh_action, exh_payload, exh_state, exh_exit_code)
       VALUES ($1, 'task', 'del', '{"exh_item_id": "gone-1"}', 'failed', 1),
              ($1, 'task', 'del', '{"exh_item_id": "gone-2"}', 'failed', 1),
              ($2, 'task', 'del', '{"exh_item_id": "gone-3"}', 'failed', 1)`,
      [alice, users[1]],
    );
    const two = await post('/api/outbox/retry', JSON.stringify({ user: alice }), asAdmin);
    expect(await json(two)).toEqual({ action: 'retryFailed', retried: 2, rereading: [alice], user: alice });
    await vi.waitFor(() =>
      expect(
        connector.records.some((r) => String(r.msg).startsWith(`Retry of ${alice}: the mailbox was read again`)),
      ).toBe(true),
    );
  });

  it('keeps /api/inspect off unless started with --inspect', async () => {
    const response = await get('/api/inspect');
    expect(response.status).toBe(404);
    expect((await json(response)).error.message).toContain('exh start --inspect');
  });
});

describe('HTTP API: the Host a request names (DNS rebinding)', () => {
  let connector: RunningConnector;
  /** node:http, because fetch does not let a caller set Host. */
  const getWithHost = (path: string, host: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(path, connector.url);
      const request = httpGet(
        { hostname: url.hostname, port: url.port, path: url.pathname, headers: { host } },
        (r) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (chunk: string) => {
            body += chunk;
          });
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        },
      );
      request.on('error', reject);
    });

  beforeAll(async () => {
    connector = await startConnector({ adminToken, allowedHosts: ['exh.contoso.test'] });
    await allLive(connector);
  }, 60_000);

  afterAll(async () => {
    await connector?.stop();
  });

  it('refuses a foreign name with 403 EXH_HTTP_HOST_NOT_ALLOWED and tells nothing of the mailboxes', async () => {
    for (const path of ['/api/status', `/api/mailboxes/${encodeURIComponent(alice)}`, '/', '/metrics']) {
      const answer = await getWithHost(path, 'evil.example:8080');
      expect(answer.status, path).toBe(403);
      expect(JSON.parse(answer.body).error.code).toBe('EXH_HTTP_HOST_NOT_ALLOWED');
      expect(answer.body).toContain('listeners.http.allowedHosts');
      expect(answer.body).not.toContain(alice);
    }
  });

  it('answers an IP address, localhost and a configured name', async () => {
    for (const host of ['127.0.0.1:8080', 'localhost:8080', 'EXH.contoso.test']) {
      const answer = await getWithHost('/api/status', host);
      expect(answer.status, host).toBe(200);
      expect(answer.body).toContain(alice);
    }
  });
});
