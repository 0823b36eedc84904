import { connect } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import {
  type GraphNotification,
  lifecycleUrlOf,
  receiverPathOf,
  startConfiguredGraphWebhook,
  startGraphWebhookReceiver,
} from '../../../src/exchange/graph/webhook-receiver.js';
import { createLogging } from '../../../src/logging/logger.js';

const lines: string[] = [];
const { logger } = createLogging({
  level: 'debug',
  format: 'json',
  stdout: { write: (line) => void lines.push(line) },
});
const maxBodyBytes = 16 * 1024;
const receiver = await startGraphWebhookReceiver({
  host: '127.0.0.1',
  port: 0,
  path: '/exh/graph',
  requestTimeoutMs: 500,
  maxBodyBytes,
  logger,
});
afterAll(() => receiver.close());

const base = `http://127.0.0.1:${receiver.address.port}`;
const url = `${base}/exh/graph`;

async function post(
  to: string,
  body: string,
  contentType = 'application/json',
): Promise<{ status: number; text: string; type: string | null }> {
  const response = await fetch(to, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, text: await response.text(), type: response.headers.get('content-type') };
}

const change = (subscriptionId: string, clientState: string | undefined, changeType = 'created') => ({
  subscriptionId,
  ...(clientState === undefined ? {} : { clientState }),
  changeType,
  resource: "Users/alice@contoso.test/mailFolders('inbox')/messages/AAMkAD1",
  resourceData: { '@odata.type': '#Microsoft.Graph.Message', id: 'AAMkAD1' },
  subscriptionExpirationDateTime: '2026-12-12T10:00:00Z',
  tenantId: 'contoso.test',
});
const batch = (...value: unknown[]) => JSON.stringify({ value });

let next = 0;
/** A subscription registered under a fresh id with its own clientState, whose notifications land in `got`. */
function registered() {
  next++;
  const id = `subscription-${next}-0f6b8c2e`;
  const clientState = `client-state-${next}-${'s'.repeat(40)}`;
  const got: GraphNotification[] = [];
  receiver.register(id, clientState, (notification) => got.push(notification));
  return { id, clientState, got };
}

/** Gives handlers queued after an answer their turn (they run on setImmediate), then returns what arrived. */
async function settled<T>(got: T[]): Promise<T[]> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return got;
}

describe('the validation handshake', () => {
  it('answers ?validationToken= with 200 text/plain and the decoded token, on both paths', async () => {
    const token = 'Validation: Testing client application reachability for subscription Request-Id: 7b8e6c1a+x&y';
    for (const path of [url, lifecycleUrlOf(url)]) {
      const answer = await post(
        `${path}?validationToken=${encodeURIComponent(token)}`,
        '',
        'text/plain; charset=utf-8',
      );
      expect(answer.status).toBe(200);
      expect(answer.type).toMatch(/^text\/plain/);
      expect(answer.text).toBe(token);
    }
  });

  it('answers the handshake without reading a body, even one that never comes', async () => {
    const answer = await rawRequest(
      `POST /exh/graph?validationToken=abc%20def HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n`,
    );
    // The first answer is the token (whatever Node says afterwards to the half-sent body we abandon).
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*?\r\n\r\nabc def(HTTP\/|$)/);
  });

  it('serves only the path of the notification URL and its lifecycle path', async () => {
    expect((await post(`${base}/other?validationToken=abc`, '', 'text/plain')).status).toBe(404);
    expect((await post(`${base}/exh/graph/other`, batch(change('x', 'y')))).status).toBe(404);
    expect((await fetch(`${url}?validationToken=abc`)).status).toBe(404);
  });
});

describe('a notification batch', () => {
  it('is answered 202 and handed to the subscription of each notification, change or lifecycle', async () => {
    const one = registered();
    const two = registered();
    const answer = await post(
      url,
      batch(change(one.id, one.clientState), change(two.id, two.clientState, 'deleted'), {
        subscriptionId: one.id,
        clientState: one.clientState,
        lifecycleEvent: 'missed',
      }),
    );
    expect(answer.status).toBe(202);
    expect(await settled(one.got)).toEqual([
      {
        kind: 'change',
        subscriptionId: one.id,
        changeType: 'created',
        resource: "Users/alice@contoso.test/mailFolders('inbox')/messages/AAMkAD1",
      },
      { kind: 'lifecycle', subscriptionId: one.id, lifecycleEvent: 'missed' },
    ]);
    expect(two.got).toEqual([expect.objectContaining({ kind: 'change', changeType: 'deleted' })]);
  });

  it('takes lifecycle notifications at the lifecycle path', async () => {
    const one = registered();
    const answer = await post(
      lifecycleUrlOf(url),
      batch({ subscriptionId: one.id, clientState: one.clientState, lifecycleEvent: 'reauthorizationRequired' }),
      'application/json; charset=utf-8',
    );
    expect(answer.status).toBe(202);
    expect(await settled(one.got)).toEqual([
      { kind: 'lifecycle', subscriptionId: one.id, lifecycleEvent: 'reauthorizationRequired' },
    ]);
  });

  it('never waits for a handler: one that has not finished does not hold the 202 back', async () => {
    let release: () => void = () => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    // A handler still busy (its promise unsettled until after the answer): were it awaited, no 202 would come.
    receiver.register('slow-subscription', 'state', () => {
      started = true;
      return blocked;
    });
    expect((await post(url, batch(change('slow-subscription', 'state')))).status).toBe(202);
    await vi.waitFor(() => expect(started).toBe(true));
    release();
  });

  it('survives a handler that throws', async () => {
    receiver.register('throwing-subscription', 'state', () => {
      throw new Error('bug in the subscription');
    });
    expect((await post(url, batch(change('throwing-subscription', 'state')))).status).toBe(202);
    await settled([]);
    const after = registered();
    expect((await post(url, batch(change(after.id, after.clientState)))).status).toBe(202);
    expect(await settled(after.got)).toHaveLength(1);
    expect(lines.join('\n')).toContain('A Graph subscription failed on a notification');
  });
});

describe('what is dropped', () => {
  it('drops a notification whose clientState differs (shorter, longer, absent, a prefix), counts it and logs W', async () => {
    const one = registered();
    const before = receiver.counts();
    for (const wrong of [
      `${one.clientState}x`,
      one.clientState.slice(0, -1),
      'short',
      '',
      undefined,
      one.clientState.toUpperCase(),
    ]) {
      expect((await post(url, batch(change(one.id, wrong)))).status).toBe(202);
    }
    expect((await post(url, batch({ ...change(one.id, undefined), clientState: null }))).status).toBe(202);
    expect(await settled(one.got)).toEqual([]);
    const after = receiver.counts();
    expect(after.client_state_mismatch - before.client_state_mismatch).toBe(7);
    expect(after.accepted).toBe(before.accepted);
    expect(lines.join('\n')).toMatch(/"level":40.*clientState does not match/);
    // The subscription itself still gets Graph's own notifications.
    expect((await post(url, batch(change(one.id, one.clientState)))).status).toBe(202);
    expect(await settled(one.got)).toHaveLength(1);
  });

  it("drops a notification for an unknown or unregistered subscription, even with another one's clientState", async () => {
    const one = registered();
    const gone = registered();
    receiver.unregister(gone.id);
    receiver.unregister(gone.id);
    const before = receiver.counts();
    expect(
      (await post(url, batch(change('never-registered', one.clientState), change(gone.id, gone.clientState)))).status,
    ).toBe(202);
    expect(await settled(one.got)).toEqual([]);
    expect(gone.got).toEqual([]);
    expect(receiver.counts().unknown_subscription - before.unknown_subscription).toBe(2);
  });

  it('hands over the good notifications of a batch that also carries bad ones', async () => {
    const one = registered();
    const before = receiver.counts();
    expect((await post(url, batch(change(one.id, 'forged'), change(one.id, one.clientState)))).status).toBe(202);
    expect(await settled(one.got)).toHaveLength(1);
    const after = receiver.counts();
    expect([after.accepted - before.accepted, after.client_state_mismatch - before.client_state_mismatch]).toEqual([
      1, 1,
    ]);
  });

  it('never logs a clientState or a whole subscription id', async () => {
    const one = registered();
    await post(url, batch(change(one.id, 'a-forged-client-state-value'), change('an-unknown-subscription-id', 'x')));
    receiver.register('subscription-that-throws', 'its-client-state-value', () => {
      throw new Error('bug');
    });
    await post(url, batch(change('subscription-that-throws', 'its-client-state-value')));
    await settled([]);
    const log = lines.join('\n');
    for (const secret of [
      one.clientState,
      'a-forged-client-state-value',
      'its-client-state-value',
      one.id,
      'an-unknown-subscription-id',
      'subscription-that-throws',
    ]) {
      expect(log).not.toContain(secret);
    }
  });
});

describe('bad requests change nothing', () => {
  it('refuses malformed JSON, other content types and wrong shapes with 400', async () => {
    const one = registered();
    const good = change(one.id, one.clientState);
    const before = receiver.counts();
    const cases: Array<[string, string]> = [
      ['{"value":[', 'application/json'],
      ['', 'application/json'],
      [batch(good), 'text/plain'],
      [batch(good), 'application/x-www-form-urlencoded'],
      [batch(good), 'application/jsonx'],
      ['{"value":[]}', 'application/json'],
      [JSON.stringify(good), 'application/json'],
      [JSON.stringify([good]), 'application/json'],
      [batch({ ...good, subscriptionId: 42 }), 'application/json'],
      [batch({ ...good, subscriptionId: '' }), 'application/json'],
      [batch({ ...good, changeType: undefined }), 'application/json'],
      [batch({ ...good, lifecycleEvent: 'missed' }), 'application/json'],
      [batch(good, 'not a notification'), 'application/json'],
      ['null', 'application/json'],
    ];
    for (const [body, type] of cases) {
      const answer = await post(url, body, type);
      expect(answer.status, `${type}: ${body.slice(0, 60)}`).toBe(400);
    }
    const noType = await fetch(url, { method: 'POST', body: new Uint8Array(Buffer.from(batch(good))) });
    expect(noType.status).toBe(400);
    expect(await settled(one.got)).toEqual([]);
    const after = receiver.counts();
    expect(after.refused - before.refused).toBe(cases.length + 1);
    expect(after.accepted).toBe(before.accepted);
  });

  it('names the client a reverse proxy on this machine forwarded for when it refuses a post', async () => {
    // A receiver of its own: the refusals above used up this interval's (throttled) warning of the shared one.
    const own: string[] = [];
    const quiet = createLogging({ level: 'info', format: 'json', stdout: { write: (line) => void own.push(line) } });
    const proxied = await startGraphWebhookReceiver({ host: '127.0.0.1', port: 0, logger: quiet.logger });
    try {
      const answer = await fetch(`http://127.0.0.1:${proxied.address.port}/`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-forwarded-for': '203.0.113.7' },
        body: 'not json',
      });
      expect(answer.status).toBe(400);
      expect(own.join('\n')).toContain('"remote":"203.0.113.7"');
    } finally {
      await proxied.close();
    }
  });

  it('refuses a body over maxBodyBytes with 413', async () => {
    const one = registered();
    const huge = batch(...Array.from({ length: 100 }, () => change(one.id, one.clientState)));
    expect(huge.length).toBeGreaterThan(maxBodyBytes);
    expect((await post(url, huge)).status).toBe(413);
    expect(await settled(one.got)).toEqual([]);
  });

  it('answers 408 to a request that does not arrive whole within requestTimeoutMs', async () => {
    const one = registered();
    const answer = await rawRequest(
      `POST /exh/graph HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"value":[`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(await settled(one.got)).toEqual([]);
  });
});

describe('where it is reached', () => {
  it('derives its path and the lifecycle URL from exchange.graph.notificationUrl', () => {
    expect(receiverPathOf('https://exh.contoso.test/hooks/graph/')).toBe('/hooks/graph');
    expect(receiverPathOf('https://exh.contoso.test')).toBe('/');
    expect(lifecycleUrlOf('https://exh.contoso.test/hooks/graph/')).toBe(
      'https://exh.contoso.test/hooks/graph/lifecycle',
    );
    expect(lifecycleUrlOf('https://exh.contoso.test')).toBe('https://exh.contoso.test/lifecycle');
  });

  it('serves / and /lifecycle for a notification URL without a path', async () => {
    const root = await startGraphWebhookReceiver({ host: '127.0.0.1', port: 0, logger });
    try {
      const at = `http://127.0.0.1:${root.address.port}`;
      expect((await post(`${at}/?validationToken=t`, '', 'text/plain')).text).toBe('t');
      expect((await post(`${at}/lifecycle?validationToken=u`, '', 'text/plain')).text).toBe('u');
    } finally {
      await root.close();
    }
  });

  it('starts as configured: only for webhook, on listeners.graph, at the path of exchange.graph.notificationUrl', async () => {
    const configured = (notifications: 'poll' | 'webhook', enabled = true) =>
      configSchema.parse({
        database: { type: 'pglite' },
        exchange: {
          backend: 'graph',
          graph: {
            tenant: 'contoso.test',
            clientId: '00000000-0000-0000-0000-0000000e4e00',
            clientSecret: 'exh-emulator-secret',
            notifications,
            notificationUrl: 'https://exh.contoso.test/hooks/graph',
          },
        },
        listeners: { graph: { port: 0, enabled } },
      });
    expect(await startConfiguredGraphWebhook(configured('poll'), logger)).toBeUndefined();
    await expect(startConfiguredGraphWebhook(configured('webhook', false), logger)).rejects.toMatchObject({
      code: 'EXH_CONFIG_INVALID',
      message: expect.stringContaining('listeners.graph.enabled'),
    });
    const started = await startConfiguredGraphWebhook(configured('webhook'), logger);
    try {
      expect(started?.address.host).toBe('127.0.0.1');
      expect(started?.path).toBe('/hooks/graph');
      const at = `http://127.0.0.1:${started?.address.port}/hooks/graph`;
      expect((await post(`${at}?validationToken=v`, '', 'text/plain')).text).toBe('v');
    } finally {
      await started?.close();
    }
  });

  it('names listeners.graph when its port is taken', async () => {
    await expect(
      startGraphWebhookReceiver({ host: '127.0.0.1', port: receiver.address.port, logger }),
    ).rejects.toMatchObject({ code: 'EXH_LISTENER_FAILED', message: expect.stringContaining('listeners.graph.port') });
  });
});

/** Sends `head` as it is over a socket and returns everything the server answers until it closes the connection. */
function rawRequest(head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(receiver.address.port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.write(head);
    // A handshake is answered at once; end after the answer so that the test does not wait for the time-out.
    socket.once('data', () => {
      if (!answer.startsWith('HTTP/1.1 408')) setTimeout(() => socket.end(), 50);
    });
  });
}
