import { afterAll, describe, expect, it } from 'vitest';
import { type Config, configSchema } from '../../../src/config/schema.js';
import { createEwsExchange, type EwsExchange } from '../../../src/exchange/ews/index.js';
import { ExchangePool } from '../../../src/pool/exchange-pool.js';
import { recordingLogger } from '../../support/recording-logger.js';
import { scriptedServer } from './scripted-server.js';

/**
 * createEwsExchange before any mailbox: what it says about its configuration. Connecting (a static URL, Autodiscover,
 * the errors of both) against the emulator: test/exchange/ews/connect.test.ts.
 */
describe('createEwsExchange', async () => {
  const server = await scriptedServer(() => ({ status: 500, body: '' }));
  const pool = new ExchangePool(2);
  const adapters: EwsExchange[] = [];
  afterAll(async () => {
    for (const adapter of adapters) adapter.close();
    await pool.close();
  });

  function create(
    exchange: Record<string, unknown>,
    change: (config: Config['exchange']) => Config['exchange'] = (config) => config,
  ) {
    const { logger, records } = recordingLogger();
    const config = configSchema.parse({
      database: { type: 'pglite' },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'pw', ...exchange },
    }).exchange;
    const adapter = createEwsExchange({ exchange: change(config), pool, logger });
    adapters.push(adapter);
    return { adapter, records };
  }

  it('reports unusable credentials once at creation, and refuses every connect with them before sending anything', async () => {
    // The schema requires the token; a configuration built in code can still lose it.
    const { adapter, records } = create(
      { auth: 'oauth', oauthToken: 'x', staticEwsUrl: `${server.base}/EWS` },
      (c) => ({
        ...c,
        oauthToken: undefined,
      }),
    );
    expect(records).toEqual([expect.objectContaining({ cat: 'E', code: 'EXH_CONFIG_INVALID' })]);
    const options = { priority: 'live' as const, signal: new AbortController().signal };
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(adapter.connect('alice@contoso.test', options)).rejects.toMatchObject({
        code: 'EXH_CONFIG_INVALID',
        message: expect.stringContaining('exchange.oauthToken'),
      });
    }
    expect(server.received).toEqual([]);
    expect(records).toHaveLength(1);
  });

  it('says that it cannot look up SCP records when asked to, unless a static URL makes Autodiscover moot', () => {
    expect(create({ enableScpLookup: true }).records).toEqual([
      expect.objectContaining({
        cat: 'W',
        msg: expect.stringContaining('exh cannot query Active Directory for SCP records'),
      }),
    ]);
    expect(create({ enableScpLookup: true, staticEwsUrl: `${server.base}/EWS` }).records).toEqual([]);
  });
});
