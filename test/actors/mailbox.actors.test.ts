import { describe, expect, it } from 'vitest';
import { assign, createActor, SimulatedClock, waitFor } from 'xstate';
import { createMailboxActors, notificationKindOf } from '../../actors/mailbox.actors.js';
import { mailboxMachine } from '../../machines/mailbox.machine.js';
import { createLogging } from '../../src/logging/logger.js';
import { Connections } from '../../src/mailbox/connections.js';
import type { DatabasePort } from '../../src/ports/database.port.js';
import type {
  ExchangePort,
  MailboxConnection,
  MailboxWriter,
  SubscriptionEvent,
} from '../../src/ports/exchange.port.js';
import { registration } from '../machines/helpers.js';

const user = 'alice@contoso.test';

/**
 * The real mailbox actors on an Exchange double whose every connect gives a new connection object and whose
 * subscription events the test sends (EWS itself is exercised in test/e2e).
 */
function mailboxWithRealActors() {
  const connections = new Connections();
  const opened: MailboxConnection[] = [];
  const subscriber: { emit?: (event: SubscriptionEvent) => void } = {};
  const capabilities = { notifications: ['streaming'], folders: [], writes: false } as const;
  const exchange: ExchangePort = {
    capabilities,
    connect: async () => {
      const connection = {
        user,
        capabilities,
        endpoint: 'https://mail.contoso.test/EWS/Exchange.asmx',
        subscribe: async (_folders: unknown, _kind: unknown, onEvent: (event: SubscriptionEvent) => void) => {
          subscriber.emit = onEvent;
          return { close: async () => {} };
        },
      } as unknown as MailboxConnection & MailboxWriter;
      opened.push(connection);
      return connection;
    },
  };
  const logging = createLogging({ level: 'silent', format: 'json', stdout: { write: () => {} } });
  const machine = mailboxMachine.provide({
    actions: { drawJitter: assign({ jitter: 0.5 }) },
    actors: createMailboxActors({
      exchange,
      db: { logError: async () => {} } as unknown as DatabasePort,
      connections,
      notifications: ['streaming'],
      logger: logging.logger,
    }),
  });
  const clock = new SimulatedClock();
  // No item type enabled: the mailbox is live as soon as it subscribed.
  const input = {
    ...registration(user),
    sync: { calendar: false, contact: false, email: false, task: false },
    maxPermanentFailures: 3,
  };
  const actor = createActor(machine, { input, clock });
  return { actor, clock, connections, opened, subscriber };
}

describe('mailbox actors: the connection registry follows the connected state', () => {
  it('releases the connection while backing off, puts the new one back on reconnect, releases it on stop', async () => {
    const { actor, clock, connections, opened, subscriber } = mailboxWithRealActors();
    actor.start();
    await waitFor(actor, (s) => s.matches({ connected: 'live' }), { timeout: 2_000 });
    expect(connections.find(user)).toBe(opened[0]);

    subscriber.emit?.({
      type: 'lost',
      error: { code: 'EXH_EXCHANGE_UNAVAILABLE', message: 'gone', retryable: true },
    });
    expect(actor.getSnapshot().value).toBe('backingOff');
    expect(connections.find(user)).toBeUndefined();
    expect(connections.writer(user)).toBeUndefined();

    clock.increment(actor.getSnapshot().context.backoffMs);
    await waitFor(actor, (s) => s.matches({ connected: 'live' }), { timeout: 2_000 });
    expect(opened).toHaveLength(2);
    expect(connections.find(user)).toBe(opened[1]);

    actor.stop();
    expect(connections.find(user)).toBeUndefined();
  });

  it('leaves alone a connection another mailbox of the same user put there since', async () => {
    const { actor, connections, opened } = mailboxWithRealActors();
    actor.start();
    await waitFor(actor, (s) => s.matches({ connected: 'live' }), { timeout: 2_000 });
    const replacement = { ...opened[0] } as MailboxConnection;
    connections.set(user, replacement);
    actor.stop();
    expect(connections.find(user)).toBe(replacement);
  });
});

describe('notificationKindOf', () => {
  it("subscribes each mailbox with the first configured kind its own backend offers (EWS's or Graph's)", () => {
    const configured = ['pull', 'webhook'] as const;
    const ews = { capabilities: { notifications: ['streaming', 'push', 'pull'], folders: [], writes: true } } as const;
    const graph = { capabilities: { notifications: ['poll', 'webhook'], folders: [], writes: true } } as const;
    expect(notificationKindOf(ews, configured)).toBe('pull');
    expect(notificationKindOf(graph, configured)).toBe('webhook');
    expect(notificationKindOf(graph, ['streaming', 'poll'])).toBe('poll');
    // A Graph adapter without its webhook listener offers polling only: nothing configured matches.
    expect(notificationKindOf({ capabilities: { ...graph.capabilities, notifications: ['poll'] } }, configured)).toBe(
      undefined,
    );
  });
});
