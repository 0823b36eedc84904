import type { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { errors, isExhError } from '../../../src/errors.js';
import { createLogging } from '../../../src/logging/logger.js';
import { SyncLocks, syncLockKey } from '../../../src/mailbox/sync-locks.js';
import type { ControlPort, SyncItemsRequest } from '../../../src/ports/control.port.js';
import type { FolderName, ItemWrite, MailboxWriter } from '../../../src/ports/exchange.port.js';
import type { ConflictRule } from '../../../src/sync/decisions/conflicts.js';
import {
  applyItemChange,
  type ConflictSettings,
  drainOutbox,
  syncItemsFromParameters,
} from '../../../src/sync/executors/outbox.js';
import { OwnWrites } from '../../../src/sync/executors/own-writes.js';
import { type ExampleDatabase, useExampleDatabase } from '../../support/example-database.js';

/**
 * The outbox of the real example application on PGlite (rows written by its triggers), drained into a scripted
 * MailboxWriter — a test double for Exchange; the EWS writer against the emulator is tested in test/exchange.
 */
let instance: PGlite;
let db: ExampleDatabase['db'];
const { logger } = createLogging({ format: 'json', stdout: { write: () => {} } });
useExampleDatabase([], (database) => {
  ({ instance, db } = database);
});

function scriptedWriter(script: { failCreate?: Error; existing?: string } = {}) {
  const calls: string[] = [];
  const made = new Map<string, string>();
  let next = 0;
  const writer: MailboxWriter = {
    async createItem(write: ItemWrite & { appItemId: string; uid?: string }) {
      calls.push(
        `create ${write.itemClass} in ${write.folder} ${write.properties.subject} uid=${write.uid ? 'set' : 'none'}`,
      );
      if (script.failCreate) throw script.failCreate;
      next += 1;
      made.set(write.appItemId, `AAMk-${next}`);
      return { itemId: `AAMk-${next}`, changeKey: 'ck' };
    },
    async updateItem(itemId: string, write: ItemWrite) {
      calls.push(`update ${itemId} ${write.properties.subject}`);
      return { itemId, changeKey: 'ck2' };
    },
    async deleteItem(itemId: string) {
      calls.push(`delete ${itemId}`);
    },
    async readItem(itemId: string) {
      calls.push(`read ${itemId}`);
      return null;
    },
    async findByAppItemId(folders: readonly FolderName[], appItemId: string) {
      calls.push(`find ${appItemId} in ${folders.join(' ')}`);
      return script.existing ?? made.get(appItemId) ?? null;
    },
    async getAttachment() {
      throw new Error('not used here');
    },
    async addAttachment() {
      throw new Error('not used here');
    },
  };
  return { writer, calls };
}

const outbox = async (user: string) =>
  (
    await instance.query<{
      exh_action: string;
      exh_state: string;
      exh_exit_code: number | null;
      exh_output_value: string | null;
      exh_error_message: string | null;
    }>(
      'SELECT exh_action, exh_state, exh_exit_code, exh_output_value, exh_error_message FROM exh_outbox WHERE exh_user = $1 ORDER BY exh_outbox_id',
      [user],
    )
  ).rows;

const signal = new AbortController().signal;

/** A ControlPort that records what the outbox asks of it (the runtime's is tested end to end in test/e2e). */
const controlCalls: string[] = [];
const control: ControlPort = {
  syncUsers: () => void controlCalls.push('syncUsers'),
  syncItems: async (request: SyncItemsRequest) => {
    controlCalls.push(`syncItems ${JSON.stringify(request)}`);
    return { added: 1, changed: 2, deleted: 3, failed: 0 };
  },
  retryFailed: async () => ({ retried: 0, rereading: [] }),
};
const base = () => ({ db, logger, control, maxAttachmentBytes: 1024, isRegistered: () => true });

describe('drainOutbox', () => {
  it("applies a user's rows in order and records the Exchange item id on each", async () => {
    const user = 'order@contoso.test';
    await instance.query(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('t-1', $1, 'first')`, [
      user,
    ]);
    await instance.query(`UPDATE task_item SET exh_subject = 'second' WHERE exh_app_item_id = 't-1'`);
    const { writer, calls } = scriptedWriter();
    const result = await drainOutbox(
      { ...base(), writerOf: (u) => (u === user ? writer : undefined) },
      { limit: 100, signal },
    );
    expect(result).toEqual({ done: 2, failed: 0, waiting: 0 });
    // The change of a row that had no item id yet finds the item by the application's id.
    // Every create first looks for an item already made for its application id (the idempotency key).
    expect(calls).toEqual([
      'find t-1 in tasks',
      'create IPM.Task in tasks first uid=none',
      'find t-1 in tasks',
      'update AAMk-1 second',
    ]);
    expect((await outbox(user)).map((r) => [r.exh_action, r.exh_state, r.exh_output_value])).toEqual([
      ['add', 'done', 'AAMk-1'],
      ['chg', 'done', 'AAMk-1'],
    ]);
  });

  it("writes a user's consecutive changes under one hold of the sync's lock: the echoes' sync waits for the run", async () => {
    const user = 'run@contoso.test';
    for (const n of [1, 2, 3]) {
      await instance.query(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ($1, $2, $3)`, [
        `run-${n}`,
        user,
        `run ${n}`,
      ]);
    }
    const locks = new SyncLocks();
    const { writer, calls } = scriptedWriter();
    const created = writer.createItem.bind(writer);
    const syncs: Promise<void>[] = [];
    // Each create's echo comes back as a notification, and its sync asks for the lock (item-type-sync.ts).
    writer.createItem = async (write, call) => {
      const result = await created(write, call);
      syncs.push(locks.run(syncLockKey(user, 'task'), async () => void calls.push('sync')));
      return result;
    };
    const conflicts: ConflictSettings = {
      rule: 'exchange-wins',
      exclusive: (u, type, work) => locks.run(syncLockKey(u, type), work),
    };
    const result = await drainOutbox(
      { ...base(), writerOf: (u) => (u === user ? writer : undefined), conflicts },
      { limit: 100, signal },
    );
    await Promise.all(syncs);
    expect(result).toEqual({ done: 3, failed: 0, waiting: 0 });
    expect(calls.filter((call) => !call.startsWith('find'))).toEqual([
      'create IPM.Task in tasks run 1 uid=none',
      'create IPM.Task in tasks run 2 uid=none',
      'create IPM.Task in tasks run 3 uid=none',
      'sync',
      'sync',
      'sync',
    ]);
  });

  it("records a row's outcome while the next row is written, and every outcome before it returns", async () => {
    const user = 'pipelined@contoso.test';
    for (const n of [1, 2]) {
      await instance.query(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ($1, $2, $3)`, [
        `pipe-${n}`,
        user,
        `pipe ${n}`,
      ]);
    }
    const { writer, calls } = scriptedWriter();
    const created = writer.createItem.bind(writer);
    let secondCreate: () => void = () => {};
    const second = new Promise<void>((resolve) => {
      secondCreate = resolve;
    });
    writer.createItem = async (write, call) => {
      if (write.properties.subject === 'pipe 2') secondCreate();
      return created(write, call);
    };
    // The first outcome is recorded once the second create has begun (or, done one after the other, a moment later).
    const completeOutbox: typeof db.completeOutbox = async (id, outcome) => {
      if (calls.filter((call) => call.startsWith('create')).length < 2)
        await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 200))]);
      await db.completeOutbox(id, outcome);
      calls.push(`completed ${outcome.outputValue}`);
    };
    const pipelinedDb = Object.assign(Object.create(db) as typeof db, { completeOutbox });
    const result = await drainOutbox(
      { ...base(), db: pipelinedDb, writerOf: (u) => (u === user ? writer : undefined) },
      { limit: 100, signal },
    );
    expect(result).toEqual({ done: 2, failed: 0, waiting: 0 });
    expect(calls.filter((call) => !call.startsWith('find'))).toEqual([
      'create IPM.Task in tasks pipe 1 uid=none',
      'create IPM.Task in tasks pipe 2 uid=none',
      'completed AAMk-1',
      'completed AAMk-2',
    ]);
    expect((await outbox(user)).map((r) => r.exh_state)).toEqual(['done', 'done']);
  });

  it('leaves rows pending while their mailbox is not connected', async () => {
    const user = 'waiting@contoso.test';
    await instance.query(
      `INSERT INTO contact_item (exh_app_item_id, exh_user, exh_surname) VALUES ('c-1', $1, 'Later')`,
      [user],
    );
    const result = await drainOutbox({ ...base(), writerOf: () => undefined }, { limit: 100, signal });
    expect(result.waiting).toBeGreaterThanOrEqual(1);
    expect((await outbox(user)).map((r) => r.exh_state)).toEqual(['pending']);
  });

  it('keeps a row pending with 522 when Exchange cannot be reached, holding back the same user’s later rows', async () => {
    const user = 'offline@contoso.test';
    await instance.query(
      `INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('o-1', $1, 'a'), ('o-2', $1, 'b')`,
      [user],
    );
    const { writer, calls } = scriptedWriter();
    const offline = {
      ...writer,
      createItem: async () => {
        calls.push('create (Exchange down)');
        throw Object.assign(new Error('connect ECONNREFUSED'), {
          code: 'EXH_EXCHANGE_UNAVAILABLE',
          retryable: true,
          name: 'ExhError',
        });
      },
    };
    await drainOutbox({ ...base(), writerOf: (u) => (u === user ? offline : undefined) }, { limit: 100, signal });
    expect(calls).toEqual(['find o-1 in tasks', 'create (Exchange down)']);
    const rows = await outbox(user);
    expect(rows.map((r) => r.exh_state)).toEqual(['pending', 'pending']);
  });

  it('marks a change Exchange refuses failed with its message, and the next row goes on', async () => {
    const user = 'refused@contoso.test';
    await instance.query(
      `INSERT INTO task_item (exh_app_item_id, exh_item_id, exh_user, exh_subject) VALUES ('r-1', 'AAMk-r1', $1, 'x')`,
      [user],
    );
    await instance.query(`DELETE FROM exh_outbox WHERE exh_user = $1`, [user]);
    await instance.query(`UPDATE task_item SET exh_subject = 'not mine' WHERE exh_app_item_id = 'r-1'`);
    await instance.query(`UPDATE task_item SET exh_subject = 'fine' WHERE exh_app_item_id = 'r-1'`);
    const { writer, calls } = scriptedWriter();
    let first = true;
    const picky = {
      ...writer,
      updateItem: async (itemId: string, write: ItemWrite) => {
        if (first) {
          first = false;
          throw Object.assign(new Error('Only the organizer may change this appointment'), {
            code: 'EXH_EXCHANGE_NOT_ORGANIZER',
            retryable: false,
          });
        }
        return writer.updateItem(itemId, write, { signal, priority: 'live' });
      },
    };
    await drainOutbox({ ...base(), writerOf: (u) => (u === user ? picky : undefined) }, { limit: 100, signal });
    expect(calls).toEqual(['update AAMk-r1 fine']);
    expect((await outbox(user)).map((r) => [r.exh_state, r.exh_exit_code, r.exh_error_message])).toEqual([
      ['failed', 1, 'Only the organizer may change this appointment (EXH_EXCHANGE_NOT_ORGANIZER)'],
      ['done', 0, null],
    ]);
  });

  it('does not create a second item when a create is retried after a crash', async () => {
    const user = 'retry@contoso.test';
    await instance.query(
      `INSERT INTO calendar_item (exh_app_item_id, exh_user, exh_subject) VALUES ('m-1', $1, 'Board')`,
      [user],
    );
    await instance.query(`UPDATE exh_outbox SET exh_attempts = 1 WHERE exh_user = $1`, [user]);
    const { writer, calls } = scriptedWriter({ existing: 'AAMk-made-before-the-crash' });
    await drainOutbox({ ...base(), writerOf: (u) => (u === user ? writer : undefined) }, { limit: 100, signal });
    expect(calls).toEqual(['find m-1 in calendar']);
    expect((await outbox(user)).map((r) => r.exh_output_value)).toEqual(['AAMk-made-before-the-crash']);
  });

  it('links a new meeting’s UID to the application id before it creates the meeting', async () => {
    const user = 'meeting@contoso.test';
    await instance.query(
      `INSERT INTO calendar_item (exh_app_item_id, exh_user, exh_subject) VALUES ('meet-1', $1, 'Kick-off')`,
      [user],
    );
    const { writer, calls } = scriptedWriter();
    await drainOutbox({ ...base(), writerOf: (u) => (u === user ? writer : undefined) }, { limit: 100, signal });
    expect(calls).toEqual(['find meet-1 in calendar', 'create IPM.Appointment in calendar Kick-off uid=set']);
    const links = (
      await instance.query<{ exh_app_item_id: string }>(
        "SELECT exh_app_item_id FROM exh_meeting WHERE exh_app_item_id = 'meet-1'",
      )
    ).rows;
    expect(links).toHaveLength(1);
  });

  it('carries out exh_sync_users, exh_sync_item and exh_get_attachment rows in their user’s order', async () => {
    const user = 'commands@contoso.test';
    controlCalls.length = 0;
    await instance.query('SELECT * FROM exh_sync_users()');
    await instance.query(
      `SELECT * FROM exh_sync_item(exh_sync_direction => 0, exh_user => $1, exh_item => 3, exh_del => false,
         exh_start_from => '2026-01-01T00:00:00Z')`,
      [user],
    );
    await instance.query(
      `SELECT * FROM exh_get_attachment(exh_user => $1, exh_item_id => 'I-1', exh_attachment_id => 'A-1')`,
      [user],
    );
    const { writer } = scriptedWriter();
    writer.getAttachment = async (itemId, attachmentId, options) => {
      expect(options.maxBytes).toBe(1024);
      return { name: 'a.txt', contentType: 'text/plain', content: Buffer.from(`${itemId}/${attachmentId} bytes`) };
    };
    const result = await drainOutbox(
      { ...base(), writerOf: (u) => (u === user ? writer : undefined) },
      { limit: 100, signal },
    );
    expect(result.failed).toBe(0);
    expect(controlCalls[0]).toBe('syncUsers');
    expect(JSON.parse(controlCalls[1]?.slice('syncItems '.length) ?? '')).toEqual({
      direction: 0,
      user,
      itemType: 'task',
      add: true,
      chg: true,
      del: false,
      start: { from: '2026-01-01T00:00:00.000Z' },
    });
    const rows = (
      await instance.query<{ exh_action: string; exh_state: string; exh_output_value: string | null }>(
        `SELECT exh_action, exh_state, exh_output_value FROM exh_outbox
         WHERE exh_action IN ('sync_users', 'sync_item', 'get_attachment') ORDER BY exh_outbox_id`,
      )
    ).rows;
    expect(rows).toEqual([
      { exh_action: 'sync_users', exh_state: 'done', exh_output_value: null },
      {
        exh_action: 'sync_item',
        exh_state: 'done',
        exh_output_value: '{"added":1,"changed":2,"deleted":3,"failed":0}',
      },
      {
        exh_action: 'get_attachment',
        exh_state: 'done',
        exh_output_value: Buffer.from('I-1/A-1 bytes').toString('base64'),
      },
    ]);
  });

  it('keeps an exh_get_attachment row pending while its mailbox is not connected', async () => {
    const user = 'attachment-later@contoso.test';
    await instance.query(
      `SELECT * FROM exh_get_attachment(exh_user => $1, exh_item_id => 'I', exh_attachment_id => 'A')`,
      [user],
    );
    await drainOutbox({ ...base(), writerOf: () => undefined }, { limit: 100, signal });
    const states = await instance.query<{ exh_state: string }>('SELECT exh_state FROM exh_outbox WHERE exh_user = $1', [
      user,
    ]);
    expect(states.rows).toEqual([{ exh_state: 'pending' }]);
  });

  it('fails a row it cannot read, and a row of a user exh_get_users does not know, and goes on', async () => {
    const user = 'bad-rows@contoso.test';
    await instance.query(
      `INSERT INTO exh_outbox (exh_user, exh_item_type, exh_action, exh_payload) VALUES
         ($1, 'task', 'add', 'not json'), ($1, 'gadget', 'add', '{}'), ('stranger@contoso.test', 'task', 'add', '{}')`,
      [user],
    );
    await instance.query(
      `INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('after-bad', $1, 'fine')`,
      [user],
    );
    const { writer } = scriptedWriter();
    await drainOutbox(
      {
        ...base(),
        isRegistered: (u) => u !== 'stranger@contoso.test',
        writerOf: (u) => (u === user || u === 'stranger@contoso.test' ? writer : undefined),
      },
      { limit: 100, signal },
    );
    const states = (await outbox(user)).map((r) => [r.exh_state, r.exh_error_message?.slice(0, 40) ?? null]);
    expect(states).toEqual([
      ['failed', expect.stringContaining('cannot be read')],
      ['failed', expect.stringContaining('cannot be read')],
      ['done', null],
    ]);
    const stranger = await outbox('stranger@contoso.test');
    expect(stranger.map((r) => r.exh_state)).toEqual(['failed']);
    expect(stranger[0]?.exh_error_message).toContain('not a registered user');
  });

  it('a command whose procedure raises is failed with the message, and the user’s later rows go on', async () => {
    const user = 'raising@contoso.test';
    await instance.query(`SELECT * FROM exh_sync_item(exh_sync_direction => 0, exh_user => $1, exh_item => 3)`, [user]);
    await instance.query(
      `INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('after-raise', $1, 'x')`,
      [user],
    );
    const raising: ControlPort = {
      ...control,
      syncItems: async () => {
        throw errors.procedureFailed('exh_get_item_task', new Error('the template raised'));
      },
    };
    const { writer } = scriptedWriter();
    await drainOutbox(
      { ...base(), control: raising, writerOf: (u) => (u === user ? writer : undefined) },
      { limit: 100, signal },
    );
    const rows = await outbox(user);
    expect(rows.map((r) => [r.exh_action, r.exh_state])).toEqual([
      ['sync_item', 'failed'],
      ['add', 'done'],
    ]);
    expect(rows[0]?.exh_error_message).toContain('the template raised');
  });

  it('reads every user’s first rows before anyone’s later ones: a blocked user cannot starve the others', async () => {
    const blocked = 'blocked@contoso.test';
    const other = 'starving@contoso.test';
    for (let i = 0; i < 30; i += 1) {
      await instance.query(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ($1, $2, 'waits')`, [
        `b-${i}`,
        blocked,
      ]);
    }
    await instance.query(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('s-1', $1, 'goes')`, [
      other,
    ]);
    const { writer } = scriptedWriter();
    await drainOutbox({ ...base(), writerOf: (u) => (u === other ? writer : undefined) }, { limit: 10, signal });
    expect((await outbox(other)).map((r) => r.exh_state)).toEqual(['done']);
    expect((await outbox(blocked)).every((r) => r.exh_state === 'pending')).toBe(true);
  });
});

/**
 * A mailbox as the conflict rule meets it: items with change keys and modification times, writes that name a change
 * key refused once the item moved on (as EWS's NeverOverwrite does; the EWS writer itself is tested against the
 * emulator in test/exchange/ews/write.test.ts), and `personEdits` standing in for someone in Outlook.
 */
function versionedWriter() {
  const calls: string[] = [];
  const items = new Map<string, { key: number; subject: unknown; modified: Date }>();
  const keyOf = (id: string) => `${id}#${items.get(id)?.key}`;
  let next = 0;
  const writer: MailboxWriter = {
    async createItem(write) {
      next += 1;
      const id = `V-${next}`;
      items.set(id, { key: 1, subject: write.properties.subject, modified: new Date() });
      calls.push(`create ${id}`);
      return { itemId: id, changeKey: keyOf(id) };
    },
    async updateItem(itemId, write, options) {
      const item = items.get(itemId);
      if (!item) throw errors.itemNotFound('u', itemId);
      if (options.changeKey !== undefined && options.changeKey !== keyOf(itemId)) {
        calls.push(`refused ${itemId} ${options.changeKey}`);
        throw errors.exchangeConflict('u', itemId);
      }
      calls.push(
        `update ${itemId} ${write.properties.subject} ${options.changeKey ? 'over its version' : 'overwriting'}`,
      );
      item.key += 1;
      if (write.properties.subject !== null && write.properties.subject !== undefined) {
        item.subject = write.properties.subject;
      }
      item.modified = new Date();
      return { itemId, changeKey: keyOf(itemId) };
    },
    async deleteItem(itemId) {
      calls.push(`delete ${itemId}`);
      items.delete(itemId);
    },
    async readItem(itemId) {
      const item = items.get(itemId);
      if (!item) return null;
      return {
        id: itemId,
        changeKey: keyOf(itemId),
        itemClass: 'IPM.Task',
        properties: { subject: item.subject as string, lastModified: item.modified.toISOString() },
      };
    },
    async findByAppItemId() {
      return null;
    },
    async getAttachment() {
      throw new Error('not used here');
    },
    async addAttachment() {
      throw new Error('not used here');
    },
  };
  return {
    writer,
    calls,
    items,
    keyOf,
    personEdits(id: string, subject: string, at = new Date()) {
      const item = items.get(id);
      if (!item) throw new Error(`no item ${id}`);
      item.key += 1;
      item.subject = subject;
      item.modified = at;
    },
  };
}

describe('the outbox meets a change made in Exchange meanwhile (docs/reliability.md, "Conflicts")', () => {
  const exclusiveCalls: string[] = [];
  const settings = (rule: ConflictRule): ConflictSettings => ({
    rule,
    exclusive: async (user, itemTypeName, work) => {
      exclusiveCalls.push(`${user} ${itemTypeName}`);
      return work();
    },
  });
  const conflictLog = async (user: string) =>
    (
      await instance.query<{ exh_item_type: string; exh_code: string; exh_message: string }>(
        "SELECT exh_item_type, exh_code, exh_message FROM exh_log WHERE exh_user = $1 AND exh_code = 'EXH_SYNC_CONFLICT' ORDER BY exh_log_id",
        [user],
      )
    ).rows;
  /** A task the connector wrote (so it knows its version), and the application's change to it in the outbox. */
  async function changedTask(user: string, world: ReturnType<typeof versionedWriter>) {
    await instance.query(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ($1, $2, 'Base')`, [
      `${user}-t`,
      user,
    ]);
    await drain(world, 'exchange-wins', user);
    const [{ output } = { output: '' }] = (
      await instance.query<{ output: string }>(
        "SELECT exh_output_value AS output FROM exh_outbox WHERE exh_user = $1 AND exh_action = 'add'",
        [user],
      )
    ).rows;
    // Its echo fills in the item id, carrying the version the connector wrote (as the sync applies it).
    await db.applyChanges({
      user,
      itemType: 'task',
      changes: [
        {
          action: 'chg',
          fields: { item_id: output, app_item_id: `${user}-t`, subject: 'Base' },
          changeKey: world.keyOf(output),
        },
      ],
    });
    await instance.query(`UPDATE task_item SET exh_subject = 'Ours' WHERE exh_app_item_id = $1`, [`${user}-t`]);
    return output;
  }
  const drain = (world: ReturnType<typeof versionedWriter>, rule: ConflictRule, user: string) =>
    drainOutbox(
      { ...base(), writerOf: (u) => (u === user ? world.writer : undefined), conflicts: settings(rule) },
      { limit: 100, signal },
    );

  it('writes over the version it knows when nobody else changed the item, and remembers the new one', async () => {
    const user = 'calm@contoso.test';
    const world = versionedWriter();
    const id = await changedTask(user, world);
    exclusiveCalls.length = 0;
    await drain(world, 'exchange-wins', user);
    expect(world.calls).toEqual([`create ${id}`, `update ${id} Ours over its version`]);
    expect(exclusiveCalls).toEqual([`${user} task`]);
    expect((await db.itemVersions([id])).get(id)).toEqual({ changeKey: world.keyOf(id), supersededUntil: null });
    expect(await conflictLog(user)).toEqual([]);
  });

  it('exchange-wins: the change is not written; the row fails and exh_log says who won, never the values', async () => {
    const user = 'ew@contoso.test';
    const world = versionedWriter();
    const id = await changedTask(user, world);
    world.personEdits(id, 'Theirs');
    await drain(world, 'exchange-wins', user);
    expect(world.items.get(id)?.subject).toBe('Theirs');
    const rows = await outbox(user);
    expect(rows.map((r) => [r.exh_action, r.exh_state])).toEqual([
      ['add', 'done'],
      ['chg', 'failed'],
    ]);
    expect(rows[1]?.exh_error_message).toMatch(
      /^not applied: .*Exchange won the conflict \(sync.conflicts is exchange-wins/,
    );
    const log = await conflictLog(user);
    expect(log).toEqual([{ exh_item_type: 'task', exh_code: 'EXH_SYNC_CONFLICT', exh_message: expect.any(String) }]);
    expect(log[0]?.exh_message).toContain(id);
    expect(log[0]?.exh_message).toContain('Exchange won (sync.conflicts is exchange-wins)');
    expect(log[0]?.exh_message).not.toMatch(/Ours|Theirs/);
  });

  it("database-wins: the application's change is written over Exchange's, once, and recorded", async () => {
    const user = 'dw@contoso.test';
    const world = versionedWriter();
    const id = await changedTask(user, world);
    world.personEdits(id, 'Theirs');
    const theirs = world.keyOf(id);
    await drain(world, 'database-wins', user);
    expect(world.calls.slice(1)).toEqual([`refused ${id} ${id}#1`, `update ${id} Ours overwriting`]);
    expect(world.items.get(id)?.subject).toBe('Ours');
    expect(world.keyOf(id)).not.toBe(theirs);
    expect((await outbox(user)).map((r) => r.exh_state)).toEqual(['done', 'done']);
    expect((await db.itemVersions([id])).get(id)?.changeKey).toBe(world.keyOf(id));
    expect((await conflictLog(user)).map((r) => r.exh_message)).toEqual([
      expect.stringContaining('the application won (sync.conflicts is database-wins)'),
    ]);
  });

  it('latest-wins: Exchange edited after the application wrote its change, or before it', async () => {
    for (const [user, later, winner] of [
      ['lw1@contoso.test', true, 'Theirs'],
      ['lw2@contoso.test', false, 'Ours'],
    ] as const) {
      const world = versionedWriter();
      const id = await changedTask(user, world);
      world.personEdits(id, 'Theirs', new Date(Date.now() + (later ? 60_000 : -3_600_000)));
      await drain(world, 'latest-wins', user);
      expect(world.items.get(id)?.subject, user).toBe(winner);
      expect(await conflictLog(user), user).toHaveLength(1);
    }
  });

  it('a row the sync already decided against fails without being written or recorded again', async () => {
    const user = 'decided@contoso.test';
    const world = versionedWriter();
    const id = await changedTask(user, world);
    const [pending] = await db.pendingItemChanges(user, 'task');
    await db.applyChanges({
      user,
      itemType: 'task',
      changes: [
        { action: 'chg', fields: { item_id: id, subject: 'Theirs' }, changeKey: 'K-sync', supersedes: pending?.id },
      ],
    });
    await drain(world, 'database-wins', user);
    expect(world.calls).toEqual([`create ${id}`]);
    expect((await outbox(user))[1]).toMatchObject({
      exh_state: 'failed',
      exh_error_message: expect.stringMatching(/^not applied/),
    });
    expect(await conflictLog(user)).toEqual([]);
  });

  it('an item deleted in Exchange: the deletion wins under every rule; a deletion of the application wins too', async () => {
    const user = 'gone@contoso.test';
    const world = versionedWriter();
    const id = await changedTask(user, world);
    world.items.delete(id);
    await drain(world, 'database-wins', user);
    expect((await outbox(user)).map((r) => r.exh_state)).toEqual(['done', 'failed']);
    expect((await conflictLog(user)).map((r) => r.exh_message)).toEqual([
      expect.stringContaining('Exchange won (a deletion wins under every rule)'),
    ]);
    expect((await db.itemVersions([id])).size).toBe(0);

    const other = 'deleter@contoso.test';
    const second = versionedWriter();
    const otherId = await changedTask(other, second);
    await instance.query('DELETE FROM exh_outbox WHERE exh_user = $1 AND exh_action = $2', [other, 'chg']);
    await instance.query('DELETE FROM task_item WHERE exh_user = $1', [other]);
    second.personEdits(otherId, 'Theirs');
    await drain(second, 'exchange-wins', other);
    expect(second.items.has(otherId)).toBe(false);
    expect((await conflictLog(other)).map((r) => r.exh_message)).toEqual([
      expect.stringContaining('the application won (a deletion wins under every rule)'),
    ]);
  });

  it('Exchange already holding the change (written before a stop kept the key from being remembered) is no conflict', async () => {
    const user = 'agreed@contoso.test';
    const world = versionedWriter();
    const id = await changedTask(user, world);
    // The write reached Exchange, but the connector stopped before it remembered the new change key.
    world.personEdits(id, 'Ours');
    await drain(world, 'exchange-wins', user);
    expect((await outbox(user)).map((r) => r.exh_state)).toEqual(['done', 'done']);
    expect((await db.itemVersions([id])).get(id)?.changeKey).toBe(world.keyOf(id));
    expect(await conflictLog(user)).toEqual([]);
  });

  it('a row whose write a stop cuts short stays pending, to be applied at the next start', async () => {
    const user = 'stopped@contoso.test';
    const world = versionedWriter();
    const id = await changedTask(user, world);
    const stopping = new AbortController();
    const cut: MailboxWriter = {
      ...world.writer,
      updateItem: async (itemId, write, options) => {
        await world.writer.updateItem(itemId, write, options);
        stopping.abort();
        throw errors.poolAborted();
      },
    };
    const outcome = await drainOutbox(
      { ...base(), writerOf: (u) => (u === user ? cut : undefined), conflicts: settings('exchange-wins') },
      { limit: 100, signal: stopping.signal },
    ).catch((error: unknown) => error);
    expect(isExhError(outcome, 'EXH_POOL_ABORTED')).toBe(true);
    const attempts = await instance.query<{ exh_state: string; exh_attempts: number }>(
      'SELECT exh_state, exh_attempts FROM exh_outbox WHERE exh_user = $1 ORDER BY exh_outbox_id',
      [user],
    );
    expect(attempts.rows.map((r) => [r.exh_state, r.exh_attempts])).toEqual([
      ['done', 1],
      ['pending', 0],
    ]);
    // The next start applies it: Exchange holds it already, so nothing conflicts and nothing is written twice.
    await drain(world, 'exchange-wins', user);
    expect((await outbox(user)).map((r) => r.exh_state)).toEqual(['done', 'done']);
    expect(world.calls.filter((c) => c.startsWith('update'))).toEqual([`update ${id} Ours over its version`]);
    expect(await conflictLog(user)).toEqual([]);
  });

  it('a change the application deletes next meets nothing: its deletion wins, recorded once', async () => {
    const user = 'thendeleted@contoso.test';
    const world = versionedWriter();
    const id = await changedTask(user, world);
    await instance.query('DELETE FROM task_item WHERE exh_user = $1', [user]);
    world.personEdits(id, 'Theirs');
    await drain(world, 'exchange-wins', user);
    expect(world.items.has(id)).toBe(false);
    expect(world.calls.filter((c) => c.startsWith('update'))).toEqual([]);
    expect((await outbox(user)).map((r) => r.exh_state)).toEqual(['done', 'done', 'done']);
    expect((await conflictLog(user)).map((r) => r.exh_message)).toEqual([
      expect.stringContaining('the application won (a deletion wins under every rule)'),
    ]);
  });

  describe("which writes' echoes are the connector's own (src/sync/decisions/echo.ts, updateEchoOwn)", () => {
    /** Drains with OwnWrites, and says whether the echo of the item's version now would be taken as its own. */
    const echoSkipped = async (
      world: ReturnType<typeof versionedWriter>,
      rule: ConflictRule,
      user: string,
      id: string,
    ) => {
      const ownWrites = new OwnWrites();
      await drainOutbox(
        {
          ...base(),
          writerOf: (u) => (u === user ? world.writer : undefined),
          conflicts: { ...settings(rule), ownWrites },
        },
        { limit: 100, signal },
      );
      return ownWrites.isEcho(user, id, world.keyOf(id));
    };

    it('a change written on the version the row reflects: its echo is skipped', async () => {
      const user = 'echo-known@contoso.test';
      const world = versionedWriter();
      const id = await changedTask(user, world);
      expect(await echoSkipped(world, 'exchange-wins', user, id)).toBe(true);
      expect(world.calls.slice(1)).toEqual([`update ${id} Ours over its version`]);
    });

    it("written again after a conflict decided for the application: its echo is applied (it holds the person's change)", async () => {
      const user = 'echo-conflict@contoso.test';
      const world = versionedWriter();
      const id = await changedTask(user, world);
      world.personEdits(id, 'Theirs');
      expect(await echoSkipped(world, 'database-wins', user, id)).toBe(false);
      expect(world.calls.slice(1)).toEqual([`refused ${id} ${id}#1`, `update ${id} Ours overwriting`]);
    });

    it('written without a known change key: its echo is applied', async () => {
      const user = 'echo-unknown@contoso.test';
      const world = versionedWriter();
      const id = await changedTask(user, world);
      await instance.query('DELETE FROM exh_item_version WHERE exh_item_id = $1', [id]);
      world.personEdits(id, 'Theirs');
      expect(await echoSkipped(world, 'exchange-wins', user, id)).toBe(false);
      expect(world.calls.slice(1)).toEqual([`update ${id} Ours overwriting`]);
    });

    it('written as an overwrite (exh_sync_item direction 1): its echo is applied', async () => {
      const user = 'echo-overwrite@contoso.test';
      const world = versionedWriter();
      const id = await changedTask(user, world);
      await instance.query(`DELETE FROM exh_outbox WHERE exh_user = $1 AND exh_state = 'pending'`, [user]);
      const ownWrites = new OwnWrites();
      const outcome = await applyItemChange(
        { db, logger, conflicts: { ...settings('exchange-wins'), ownWrites } },
        world.writer,
        {
          id: 'exh_sync_item',
          user,
          itemType: 'task',
          action: 'chg',
          fields: { item_id: id, app_item_id: `${user}-t`, subject: 'Ours' },
          attempts: 0,
        },
        { signal, priority: 'live' },
        { overwrite: true },
      );
      expect(outcome.exitCode).toBe(0);
      expect(world.calls.slice(1)).toEqual([`update ${id} Ours overwriting`]);
      expect(ownWrites.isEcho(user, id, world.keyOf(id))).toBe(false);
    });
  });

  it('without conflict settings (the resync, or a caller that has none) it overwrites, as before', async () => {
    const user = 'plain@contoso.test';
    const world = versionedWriter();
    const id = await changedTask(user, world);
    world.personEdits(id, 'Theirs');
    await drainOutbox({ ...base(), writerOf: (u) => (u === user ? world.writer : undefined) }, { limit: 100, signal });
    expect(world.calls.slice(1)).toEqual([`update ${id} Ours overwriting`]);
    expect(await conflictLog(user)).toEqual([]);
  });
});

describe('syncItemsFromParameters', () => {
  it('reads exh_sync_item’s parameters: flags default to true, item numbers to types, dates to ranges', () => {
    expect(
      syncItemsFromParameters({
        exh_sync_direction: 1,
        exh_user: 'u@x',
        exh_item: 0,
        exh_add: null,
        exh_chg: false,
        exh_del: 0,
        exh_created_until: '2026-02-01T00:00:00+00:00',
      }),
    ).toEqual({
      direction: 1,
      user: 'u@x',
      itemType: 'calendar',
      add: true,
      chg: false,
      del: false,
      created: { until: new Date('2026-02-01T00:00:00Z') },
    });
    expect(syncItemsFromParameters({ exh_sync_direction: 0 })).toMatchObject({ user: null, itemType: null });
  });

  it('reads a DB2 timestamp and a bit as the listener reads their ISO and JSON forms', () => {
    expect(
      syncItemsFromParameters({
        exh_sync_direction: 0,
        exh_item: 3,
        exh_del: 1,
        exh_start_from: '2026-01-01-00.00.00',
      }),
    ).toEqual({
      direction: 0,
      user: null,
      itemType: 'task',
      add: true,
      chg: true,
      del: true,
      start: { from: new Date('2026-01-01T00:00:00Z') },
    });
  });

  it('refuses an item number the registry does not know, or a number written as a string, as the listener does', () => {
    const refusal = (parameters: Record<string, unknown>) => {
      try {
        syncItemsFromParameters(parameters);
      } catch (error) {
        return isExhError(error, 'EXH_RESYNC_REFUSED') ? error.message : `not refused: ${String(error)}`;
      }
      return 'accepted';
    };
    expect(refusal({ exh_sync_direction: 0, exh_item: 7 })).toBe(
      'exh_sync_item refused: exh_item: expected 0 (calendar), 1 (contact), 2 (email), 3 (task) or null, not 7',
    );
    expect(refusal({ exh_sync_direction: 0, exh_item: '2' })).toMatch(
      /^exh_sync_item refused: exh_item: expected .* not "2" \(a string\)$/,
    );
    expect(refusal({ exh_sync_direction: 2 })).toMatch(/^exh_sync_item refused: exh_sync_direction: expected 0 /);
  });

  it('fails an exh_sync_item row with an unknown item number, naming it, and synchronises nothing', async () => {
    const user = 'unknown-item@contoso.test';
    controlCalls.length = 0;
    await instance.query(
      `INSERT INTO exh_outbox (exh_user, exh_item_type, exh_action, exh_payload) VALUES
         ($1, NULL, 'sync_item', $2), ($1, NULL, 'sync_item', $3)`,
      [
        user,
        JSON.stringify({ exh_sync_direction: 0, exh_user: user, exh_item: 7 }),
        JSON.stringify({ exh_sync_direction: 0, exh_user: user, exh_item: '2' }),
      ],
    );
    await drainOutbox({ ...base(), writerOf: () => undefined }, { limit: 100, signal });
    expect(controlCalls.filter((call) => call.includes(user))).toEqual([]);
    expect((await outbox(user)).map((row) => [row.exh_state, row.exh_exit_code, row.exh_error_message])).toEqual([
      ['failed', 1, expect.stringMatching(/exh_item: expected 0 \(calendar\).* not 7$/)],
      ['failed', 1, expect.stringMatching(/exh_item: expected 0 \(calendar\).* not "2" \(a string\)$/)],
    ]);
  });
});
