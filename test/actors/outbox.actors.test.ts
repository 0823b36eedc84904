import { describe, expect, it } from 'vitest';
import { type AnyActorLogic, createActor, fromCallback, setup } from 'xstate';
import { createOutboxActor, type OutboxDeps } from '../../actors/outbox.actors.js';
import { type ExhError, errors } from '../../src/errors.js';
import { Connections } from '../../src/mailbox/connections.js';
import type { ControlPort } from '../../src/ports/control.port.js';
import type { DatabasePort } from '../../src/ports/database.port.js';
import { alice, bob, type MemoryWorld, useMemoryWorld } from '../support/memory-world.js';
import { recordingLogger } from '../support/recording-logger.js';

/**
 * The real outbox actor (database → Exchange) on PGlite with the example application and the in-memory Exchange,
 * under a root that also runs a `database` actor (systemId 'database', as the supervisor does) keeping what it is
 * sent.
 */
let world: MemoryWorld;
useMemoryWorld((made) => {
  world = made;
});

const control: ControlPort = {
  syncUsers: () => {},
  syncItems: async () => ({ added: 0, changed: 0, deleted: 0, failed: 0 }),
  retryFailed: async () => ({ retried: 0, rereading: [] }),
};

/** The adapter with some of its methods replaced (bound to the adapter, whose fields are private). */
function dbWith(overrides: Partial<Record<keyof DatabasePort, unknown>>): DatabasePort {
  return new Proxy(world.db, {
    get(target, name, receiver) {
      if (name in overrides) return overrides[name as keyof DatabasePort];
      const value = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as DatabasePort;
}

function outboxActor(overrides: Partial<OutboxDeps> = {}) {
  const { logger, records } = recordingLogger('debug');
  const connections = new Connections();
  const toDatabase: Array<{ type: string; error?: { code: string } }> = [];
  const root = setup({
    actors: {
      database: fromCallback(({ receive }) => {
        receive((event) => void toDatabase.push(event as (typeof toDatabase)[number]));
      }) as AnyActorLogic,
      outbox: createOutboxActor({
        db: world.db,
        connections,
        control,
        logger,
        isRegistered: () => true,
        pollMs: 3_600_000,
        maxAttachmentBytes: 1024,
        ...overrides,
      }),
    },
  }).createMachine({
    invoke: [
      { src: 'database', systemId: 'database' },
      { src: 'outbox', id: 'outbox' },
    ],
  });
  const actor = createActor(root);
  return { actor, connections, records, toDatabase };
}

async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const addTask = (user: string, appItemId: string, subject: string) =>
  world.instance.query('INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ($1, $2, $3)', [
    appItemId,
    user,
    subject,
  ]);
const states = async () => (await world.outbox()).map((row) => [row.exh_user, row.exh_action, row.exh_state]);
const subjects = (user: string) => world.admin.listFolder(user, 'tasks').map((item) => item.properties.subject);

describe('outbox actor', () => {
  it('drains what is waiting when it starts, and is woken by the database’s notification for new rows', async () => {
    await addTask(alice, 't-1', 'Before the start');
    // An hour between looks: only the start and the notification can make it read.
    const { actor, connections } = outboxActor({ pollMs: 3_600_000 });
    connections.set(alice, await world.connect(alice));
    actor.start();
    try {
      await until(async () => subjects(alice).length === 1);
      expect(subjects(alice)).toEqual(['Before the start']);
      await addTask(alice, 't-2', 'While running');
      await until(async () => subjects(alice).length === 2);
      expect(subjects(alice)).toEqual(['Before the start', 'While running']);
      await until(async () => (await states()).every(([, , state]) => state === 'done'));
    } finally {
      actor.stop();
    }
  });

  it('polls where the database cannot notify; a user whose mailbox is not connected waits without holding up another', async () => {
    const { actor, connections } = outboxActor({ pollMs: 30, db: dbWith({ watchOutbox: undefined }) });
    connections.set(alice, await world.connect(alice));
    actor.start();
    try {
      await addTask(bob, 'b-1', 'Bob first');
      await addTask(alice, 'a-1', 'Alice');
      await addTask(bob, 'b-2', 'Bob second');
      await until(async () => subjects(alice).length === 1);
      expect(subjects(bob)).toEqual([]);
      expect(await states()).toEqual([
        [bob, 'add', 'pending'],
        [alice, 'add', 'done'],
        [bob, 'add', 'pending'],
      ]);
      // Bob's mailbox comes: his rows follow, in the order they were written.
      connections.set(bob, await world.connect(bob));
      await until(async () => subjects(bob).length === 2);
      expect(subjects(bob)).toEqual(['Bob first', 'Bob second']);
    } finally {
      actor.stop();
    }
  });

  it('in a cluster, writes only the rows of users whose lease it holds (the lease check reaches the workers)', async () => {
    const held = new Set([alice]);
    const { actor, connections } = outboxActor({
      pollMs: 30,
      db: dbWith({ watchOutbox: undefined }),
      sharedOutbox: true,
      lease: { instanceId: 'exh-here', owns: (user) => held.has(user) },
    });
    connections.set(alice, await world.connect(alice));
    connections.set(bob, await world.connect(bob));
    actor.start();
    try {
      await addTask(alice, 'a-1', 'Alice');
      await addTask(bob, 'b-1', 'Bob');
      await until(async () => subjects(alice).length === 1);
      // Polled many times meanwhile: Bob's lease is another instance's, so his row waits, untouched.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(subjects(bob)).toEqual([]);
      expect(await states()).toEqual([
        [alice, 'add', 'done'],
        [bob, 'add', 'pending'],
      ]);
      held.add(bob);
      await until(async () => subjects(bob).length === 1);
      expect(subjects(bob)).toEqual(['Bob']);
    } finally {
      actor.stop();
    }
  });

  it('tells the database actor of a lost database, and logs any other failure to read the outbox', async () => {
    let failure: unknown = errors.databaseConnectionLost('memory://', new Error('socket closed'));
    const db = dbWith({
      watchOutbox: undefined,
      readOutbox: async () => {
        throw failure;
      },
    });
    const { actor, toDatabase } = outboxActor({ db, pollMs: 3_600_000 });
    actor.start();
    try {
      await until(() => toDatabase.length > 0);
      expect(toDatabase).toEqual([
        {
          type: 'database.failed',
          error: expect.objectContaining({ code: 'EXH_DB_CONNECTION_LOST', retryable: true }),
        },
      ]);
    } finally {
      actor.stop();
    }

    failure = new Error('relation "exh_outbox" does not exist');
    const second = outboxActor({ db, pollMs: 3_600_000 });
    second.actor.start();
    try {
      await until(() => second.records.some((record) => record.cat === 'E'));
      expect(second.records).toContainEqual(
        expect.objectContaining({
          cat: 'E',
          actor: 'outbox',
          msg: expect.stringContaining('Draining the outbox failed: relation "exh_outbox" does not exist'),
        }),
      );
      expect(second.toDatabase).toEqual([]);
    } finally {
      second.actor.stop();
    }
  });

  it('reads nothing more once stopped, and stops listening for notifications', async () => {
    let unwatched = 0;
    const db = dbWith({
      watchOutbox: async (onUser: (user: string) => void, onError?: (error: ExhError) => void) => {
        const stop = await world.db.watchOutbox(onUser, onError);
        return async () => {
          unwatched += 1;
          await stop();
        };
      },
    });
    const { actor, connections } = outboxActor({ db, pollMs: 30 });
    connections.set(alice, await world.connect(alice));
    actor.start();
    await addTask(alice, 'a-1', 'Applied');
    await until(async () => subjects(alice).length === 1);
    actor.stop();
    await until(() => unwatched === 1);
    await addTask(alice, 'a-2', 'After the stop');
    // Many poll intervals and a notification later: the row is still waiting.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(subjects(alice)).toEqual(['Applied']);
    expect((await states()).at(-1)).toEqual([alice, 'add', 'pending']);
  });
});
