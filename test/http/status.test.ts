import { afterEach, describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromPromise, setup } from 'xstate';
import { readinessOf, readReadiness, readStatus } from '../../src/http/status.js';

/**
 * readStatus over a real actor tree shaped like the connector's: supervisor → database, mailboxes → mailbox:<user> →
 * itemType:<type>. The machines are small stand-ins; only their ids, states and context matter to the status.
 */
const itemType = setup({
  types: { context: {} as Record<string, unknown>, input: {} as Record<string, unknown> },
}).createMachine({
  id: 'itemType',
  context: ({ input }) => input,
  initial: 'idle',
  states: { idle: {}, syncing: {} },
});

const mailbox = setup({
  types: {
    context: {} as Record<string, unknown>,
    input: {} as Record<string, unknown>,
  },
  actors: { itemType, fetch: fromPromise(() => new Promise<never>(() => {})) },
}).createMachine({
  id: 'mailbox',
  context: ({ input }) => input,
  initial: 'routing',
  states: {
    routing: {
      always: [
        { guard: ({ context }) => context.route === 'live', target: 'connected.live' },
        { target: 'connected.catchingUp' },
      ],
    },
    connected: { initial: 'catchingUp', states: { catchingUp: {}, live: {} } },
  },
  invoke: [
    {
      id: 'itemType:task',
      src: 'itemType',
      input: {
        itemType: 'task',
        caughtUp: false,
        applied: 3,
        failed: 1,
        pending: true,
        lastError: { message: 'no code' },
      },
    },
    {
      id: 'itemType:calendar',
      src: 'itemType',
      input: { itemType: 'calendar', caughtUp: true, applied: 0, failed: 0, pending: false, lastError: null },
    },
    // Not a machine: no child of the status.
    { id: 'fetching', src: 'fetch' },
  ],
});

const users = [
  { user: 'alice@contoso.test', sync: { calendar: true, task: true, email: false } },
  { user: 'bob@contoso.test', sync: { calendar: true, task: true, email: true } },
  { user: 'carol@contoso.test', sync: { calendar: true } },
];

const mailboxes = setup({ actors: { mailbox } }).createMachine({
  id: 'mailboxes',
  context: { users, givenUp: ['carol@contoso.test'] },
  initial: 'running',
  states: { running: {} },
  invoke: [
    {
      id: 'mailbox:alice@contoso.test',
      src: 'mailbox',
      input: { route: 'live', endpoint: 'https://mail/EWS', lastError: null, attempt: 0, caughtUp: [] },
    },
    {
      id: 'mailbox:bob@contoso.test',
      src: 'mailbox',
      input: {
        route: 'catchingUp',
        endpoint: null,
        lastError: { code: 'EXH_EXCHANGE_THROTTLED', message: 'busy', retryable: true },
        attempt: 2,
        caughtUp: ['calendar'],
      },
    },
  ],
});

function supervisor(database: { ready: boolean; lastError: unknown }) {
  const databaseMachine = setup({ types: { context: {} as { lastError: unknown } } }).createMachine({
    id: 'database',
    context: { lastError: database.lastError },
    initial: database.ready ? 'ready' : 'connecting',
    states: {
      ready: { initial: 'idle', states: { idle: {} } },
      connecting: { initial: 'waiting', states: { waiting: {} } },
    },
  });
  return setup({ actors: { database: databaseMachine, mailboxes } }).createMachine({
    id: 'supervisor',
    initial: 'running',
    states: { running: {} },
    invoke: [
      { id: 'database', src: 'database' },
      ...(database.ready ? [{ id: 'mailboxes', src: 'mailboxes' as const }] : []),
    ],
  });
}

const sources = (root: AnyActorRef) => ({
  version: '1.2.3',
  startedAt: '2026-03-01T08:00:00.000Z',
  root: () => root,
  databaseTarget: 'postgres://db:5432/app',
  pool: () => ({ concurrency: 8, running: 1, queued: 2 }),
  itemsPerMinute: () => [{ itemType: 'task', direction: 'exchange_to_db' as const, count: 4 }],
  recentErrors: () => [],
  inspect: true,
});

describe('readStatus', () => {
  const started: AnyActorRef[] = [];
  const start = (machine: ReturnType<typeof supervisor>) => {
    const actor = createActor(machine).start();
    started.push(actor);
    return actor;
  };
  afterEach(() => {
    for (const actor of started.splice(0)) actor.stop();
  });

  it('reads the service, the database and the mailboxes supervisor as the overview draws them', () => {
    const status = readStatus(sources(start(supervisor({ ready: true, lastError: null }))));
    expect(status.service).toEqual({
      actor: 'supervisor',
      machine: 'supervisor',
      paths: ['running'],
      state: 'running',
    });
    expect(status.machines.map((m) => `${m.actor} ${m.state}`)).toEqual([
      'supervisor running',
      'database idle',
      'mailboxes running',
    ]);
    expect(status.database).toEqual({
      actor: 'database',
      machine: 'database',
      paths: ['ready', 'ready.idle'],
      state: 'idle',
      ready: true,
      target: 'postgres://db:5432/app',
      lastError: null,
    });
    expect(status).toMatchObject({
      version: '1.2.3',
      startedAt: '2026-03-01T08:00:00.000Z',
      pool: { concurrency: 8, running: 1, queued: 2 },
      items: { perMinute: [{ itemType: 'task', direction: 'exchange_to_db', count: 4 }] },
      inspect: true,
    });
  });

  it('gives every registered user a mailbox: its state, catch-up of the types it syncs, its machine children', () => {
    const { mailboxes: view } = readStatus(sources(start(supervisor({ ready: true, lastError: null }))));
    expect(view).toMatchObject({ total: 3, live: 1, byState: { live: 1, catchingUp: 1, stopped: 1 } });
    const [alice, bob, carol] = view.list;
    expect(alice).toMatchObject({
      user: 'alice@contoso.test',
      state: 'live',
      machine: { actor: 'mailbox:alice@contoso.test', machine: 'mailbox', paths: ['connected', 'connected.live'] },
      endpoint: 'https://mail/EWS',
      // Live: every enabled type is caught up.
      catchUp: { done: 2, total: 2 },
    });
    expect(alice?.children).toEqual([
      {
        actor: 'itemType:calendar',
        machine: 'itemType',
        paths: ['idle'],
        state: 'idle',
        itemType: 'calendar',
        caughtUp: true,
        applied: 0,
        failed: 0,
        pending: false,
        lastError: null,
      },
      {
        actor: 'itemType:task',
        machine: 'itemType',
        paths: ['idle'],
        state: 'idle',
        itemType: 'task',
        caughtUp: false,
        applied: 3,
        failed: 1,
        pending: true,
        // An error without a code is shown as the catalogue's EXH_INTERNAL.
        lastError: { code: 'EXH_INTERNAL', message: 'no code' },
      },
    ]);
    expect(bob).toMatchObject({
      state: 'catchingUp',
      endpoint: null,
      attempt: 2,
      lastError: { code: 'EXH_EXCHANGE_THROTTLED', message: 'busy' },
      catchUp: { done: 1, total: 3 },
    });
    // Only code and message: nothing else of the error reaches the API.
    expect(Object.keys(bob?.lastError ?? {})).toEqual(['code', 'message']);
    expect(carol).toEqual({
      user: 'carol@contoso.test',
      state: 'stopped',
      machine: null,
      endpoint: null,
      lastError: null,
      attempt: 0,
      catchUp: { done: 0, total: 1 },
      children: [],
    });
  });

  it('says the database is not ready, with its last error, and lists no mailbox while none runs', () => {
    const status = readStatus(
      sources(
        start(supervisor({ ready: false, lastError: { code: 'EXH_DB_CONNECTION_REFUSED', message: 'refused' } })),
      ),
    );
    expect(status.database).toMatchObject({
      ready: false,
      paths: ['connecting', 'connecting.waiting'],
      lastError: { code: 'EXH_DB_CONNECTION_REFUSED', message: 'refused' },
    });
    expect(status.machines.map((m) => m.actor)).toEqual(['supervisor', 'database']);
    expect(status.mailboxes).toEqual({ total: 0, live: 0, byState: {}, list: [] });
  });

  it('reads readiness (/readyz, the mailbox gauges) from the tree as the whole status counts it, without its list', () => {
    for (const ready of [true, false]) {
      const root = start(supervisor({ ready, lastError: null }));
      const readiness = readReadiness(root);
      expect(readiness).toEqual(readinessOf(readStatus(sources(root))));
      expect(readiness).toEqual(
        ready
          ? {
              ready: true,
              database: 'ready.idle',
              mailboxes: { total: 3, live: 1, byState: { live: 1, catchingUp: 1, stopped: 1 } },
            }
          : { ready: false, database: 'connecting.waiting', mailboxes: { total: 0, live: 0, byState: {} } },
      );
    }
  });
});
