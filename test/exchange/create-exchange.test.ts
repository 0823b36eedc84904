import { type AddressInfo, createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { createExchangeBackend } from '../../src/exchange/create-exchange.js';
import { ExchangePool } from '../../src/pool/exchange-pool.js';
import { recordingLogger } from '../support/recording-logger.js';

function setUp(exchange: Record<string, unknown>, listener: Record<string, unknown> = {}) {
  const { logger, records } = recordingLogger();
  const config = configSchema.parse({
    database: { type: 'pglite' },
    exchange: {
      staticEwsUrl: 'http://127.0.0.1:9/EWS/Exchange.asmx',
      impersonationUser: 'svc@contoso.test',
      impersonationPassword: 'pw',
      ...exchange,
    },
    listeners: { exchange: { port: 0, ...listener } },
  });
  return { config, logger, records };
}

const pushUrl = (records: Array<Record<string, unknown>>) =>
  records.find((record) => String(record.msg).startsWith('Push notifications are received at'))?.url as
    | string
    | undefined;

/** The Exchange side as the configuration says (src/exchange/create-exchange.ts). */
describe('createExchangeBackend', () => {
  const pool = new ExchangePool(2);
  afterAll(() => pool.close());

  it('starts no listener for streaming notifications, and builds the EWS port over the pool it is given', async () => {
    const { config, logger, records } = setUp({ notifications: 'streaming' });
    const backend = await createExchangeBackend(config, logger);
    expect(pushUrl(records)).toBeUndefined();
    expect(backend.port(pool).capabilities.notifications).toContain('streaming');
    await backend.close();
  });

  it('listens for push notifications before the port exists, on a real socket, until it is closed', async () => {
    const { config, logger, records } = setUp({ notifications: 'push' });
    const backend = await createExchangeBackend(config, logger);
    const url = pushUrl(records);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exh\/notifications$/);
    // Alive: a post with a secret it never gave out is refused, not left unanswered.
    const forged = await fetch(`${url}/not-a-secret`, { method: 'POST', body: '<x/>' });
    expect(forged.status).toBe(404);
    backend.port(pool);
    await backend.close();
    await expect(fetch(`${url}/not-a-secret`, { method: 'POST', body: '<x/>' })).rejects.toThrow();
  });

  it('refuses push without its listener, naming the key, and a port it cannot have, naming the listener', async () => {
    const off = setUp({ notifications: 'push' }, { enabled: false });
    await expect(createExchangeBackend(off.config, off.logger)).rejects.toMatchObject({
      code: 'EXH_CONFIG_INVALID',
      message: expect.stringContaining(
        'listeners.exchange.enabled: must be true when exchange.notifications is "push"',
      ),
    });
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const busy = setUp({ notifications: 'push' }, { port });
      await expect(createExchangeBackend(busy.config, busy.logger)).rejects.toMatchObject({
        code: 'EXH_LISTENER_FAILED',
        message: expect.stringContaining('listeners.exchange.port'),
      });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('starts the Graph webhook listener for exchange.graph.notifications "webhook", counts what it gets, and stops it', async () => {
    const { logger, records } = recordingLogger();
    const configured = (notifications: 'poll' | 'webhook') =>
      configSchema.parse({
        database: { type: 'pglite' },
        exchange: {
          backend: 'graph',
          graph: {
            tenant: 'contoso.test',
            clientId: '00000000-0000-0000-0000-0000000e4e00',
            clientSecret: 'exh-emulator-secret',
            notifications,
            notificationUrl: 'https://exh.contoso.test/exh/graph',
          },
        },
        listeners: { graph: { port: 0 } },
      });
    const polling = await createExchangeBackend(configured('poll'), logger);
    expect(polling.graphNotifications).toBeUndefined();
    await polling.close();
    const backend = await createExchangeBackend(configured('webhook'), logger);
    const port = records.find((record) => String(record.msg).startsWith('Graph change notifications are received'))
      ?.port as number;
    const url = `http://127.0.0.1:${port}/exh/graph`;
    const forged = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: [{ subscriptionId: 'nobody', clientState: 'x', changeType: 'created' }] }),
    });
    expect(forged.status).toBe(202);
    expect(backend.graphNotifications?.()).toMatchObject({ accepted: 0, unknown_subscription: 1 });
    await backend.close();
    await expect(fetch(url, { method: 'POST', body: '' })).rejects.toThrow();
  });
});
