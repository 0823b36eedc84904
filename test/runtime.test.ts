import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.js';
import { isExhError } from '../src/errors.js';
import { createMemoryExchange, memoryCapabilities } from '../src/exchange/memory/index.js';
import { createLogging } from '../src/logging/logger.js';
import type { ExchangePool } from '../src/pool/exchange-pool.js';
import type { ExchangePort } from '../src/ports/exchange.port.js';
import { startRuntime } from '../src/runtime.js';
import { testConfig } from './support/config.js';

/** The composition root takes what the Exchange backend declares (ExchangeCapabilities) rather than assuming EWS. */
describe('startRuntime and the backend’s capabilities', () => {
  const emulator = { url: 'http://127.0.0.1:1/EWS/Exchange.asmx', serviceAccount: 'svc@contoso.test', password: 'x' };
  const config = (notifications: string) =>
    configSchema.parse(testConfig(emulator, { type: 'pglite' }, { exchange: { notifications } }));
  const logging = () => createLogging({ level: 'error', format: 'json', stdout: { write: () => {} } });

  it('refuses a notification kind the backend does not offer, naming the kinds it does', () => {
    // The in-memory backend has streaming and pull notifications, no push.
    let thrown: unknown;
    try {
      startRuntime({ config: config('push'), logging: logging(), exchange: () => createMemoryExchange() });
    } catch (error) {
      thrown = error;
    }
    expect(isExhError(thrown, 'EXH_CONFIG_INVALID')).toBe(true);
    expect((thrown as Error).message).toMatch(/exchange\.notifications.*"push".*"streaming", "pull"/);
  });

  it("asks nothing of EWS's exchange.notifications when exchange.backend is graph (Graph's kind is its own setting)", async () => {
    const graphOnly = configSchema.parse(
      testConfig(
        emulator,
        { type: 'pglite' },
        {
          exchange: {
            backend: 'graph',
            notifications: 'push',
            graph: { tenant: 'contoso.test', clientId: 'app', clientSecret: 'secret', notifications: 'poll' },
          },
        },
      ),
    );
    const exchange = (): ExchangePort => {
      const memory = createMemoryExchange();
      return { capabilities: { ...memoryCapabilities, notifications: ['poll'] }, connect: memory.connect.bind(memory) };
    };
    const runtime = startRuntime({ config: graphOnly, logging: logging(), exchange });
    await expect(runtime.stop()).resolves.toEqual({ exitCode: 0 });
  });

  it('limits the requests per mailbox as the backend asks, and starts with a kind it offers', async () => {
    let pool: ExchangePool | undefined;
    const exchange = (given: ExchangePool): ExchangePort => {
      pool = given;
      const memory = createMemoryExchange({ pool: given });
      return { capabilities: { ...memoryCapabilities, requestsPerMailbox: 4 }, connect: memory.connect.bind(memory) };
    };
    const runtime = startRuntime({ config: config('pull'), logging: logging(), exchange });
    expect(pool?.perMailbox).toBe(4);
    await expect(runtime.stop()).resolves.toEqual({ exitCode: 0 });
  });
});
