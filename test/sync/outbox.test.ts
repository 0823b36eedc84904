import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase } from '../../src/db/adapters/pglite.js';
import { installInto } from '../../src/db/commands.js';
import { createLogging } from '../../src/logging/logger.js';
import type { ItemTypeName } from '../../src/ports/database.port.js';
import type { ItemWrite, MailboxWriter } from '../../src/ports/exchange.port.js';
import { drainOutbox } from '../../src/sync/outbox.js';

/**
 * The outbox of the real example application on PGlite (rows written by its triggers), drained into a scripted
 * MailboxWriter — a test double for Exchange; the EWS writer against the emulator is tested in test/exchange.
 */
let instance: PGlite;
let db: ReturnType<typeof createPgliteDatabase>;
const { logger } = createLogging({ format: 'json', stdout: { write: () => {} } });

beforeAll(async () => {
  instance = await PGlite.create();
  db = createPgliteDatabase({ instance });
  await db.connect();
  await installInto(db, { exampleApp: true });
});
afterAll(async () => {
  await db?.close();
  await instance?.close();
});

function scriptedWriter(script: { failCreate?: Error; existing?: string } = {}) {
  const calls: string[] = [];
  const made = new Map<string, string>();
  let next = 0;
  const writer: MailboxWriter = {
    async createItem(write: ItemWrite & { appItemId: string; uid?: string }) {
      calls.push(`create ${write.itemType} ${write.fields.subject} uid=${write.uid ? 'set' : 'none'}`);
      if (script.failCreate) throw script.failCreate;
      next += 1;
      made.set(write.appItemId, `AAMk-${next}`);
      return { itemId: `AAMk-${next}`, changeKey: 'ck' };
    },
    async updateItem(itemId: string, write: ItemWrite) {
      calls.push(`update ${itemId} ${write.fields.subject}`);
      return { itemId, changeKey: 'ck2' };
    },
    async deleteItem(itemId: string) {
      calls.push(`delete ${itemId}`);
    },
    async findByAppItemId(_type: ItemTypeName, appItemId: string) {
      calls.push(`find ${appItemId}`);
      return script.existing ?? made.get(appItemId) ?? null;
    },
    async getAttachment() {
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

describe('drainOutbox', () => {
  it("applies a user's rows in order and records the Exchange item id on each", async () => {
    const user = 'order@contoso.test';
    await instance.query(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('t-1', $1, 'first')`, [
      user,
    ]);
    await instance.query(`UPDATE task_item SET exh_subject = 'second' WHERE exh_app_item_id = 't-1'`);
    const { writer, calls } = scriptedWriter();
    const result = await drainOutbox(
      { db, logger, writerOf: (u) => (u === user ? writer : undefined) },
      { limit: 100, signal },
    );
    expect(result).toEqual({ done: 2, failed: 0, waiting: 0 });
    // The change of a row that had no item id yet finds the item by the application's id.
    expect(calls).toEqual(['create task first uid=none', 'find t-1', 'update AAMk-1 second']);
    expect((await outbox(user)).map((r) => [r.exh_action, r.exh_state, r.exh_output_value])).toEqual([
      ['add', 'done', 'AAMk-1'],
      ['chg', 'done', 'AAMk-1'],
    ]);
  });

  it('leaves rows pending while their mailbox is not connected', async () => {
    const user = 'waiting@contoso.test';
    await instance.query(
      `INSERT INTO contact_item (exh_app_item_id, exh_user, exh_surname) VALUES ('c-1', $1, 'Later')`,
      [user],
    );
    const result = await drainOutbox({ db, logger, writerOf: () => undefined }, { limit: 100, signal });
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
    await drainOutbox({ db, logger, writerOf: (u) => (u === user ? offline : undefined) }, { limit: 100, signal });
    expect(calls).toEqual(['create (Exchange down)']);
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
    await drainOutbox({ db, logger, writerOf: (u) => (u === user ? picky : undefined) }, { limit: 100, signal });
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
    await drainOutbox({ db, logger, writerOf: (u) => (u === user ? writer : undefined) }, { limit: 100, signal });
    expect(calls).toEqual(['find m-1']);
    expect((await outbox(user)).map((r) => r.exh_output_value)).toEqual(['AAMk-made-before-the-crash']);
  });

  it('links a new meeting’s UID to the application id before it creates the meeting', async () => {
    const user = 'meeting@contoso.test';
    await instance.query(
      `INSERT INTO calendar_item (exh_app_item_id, exh_user, exh_subject) VALUES ('meet-1', $1, 'Kick-off')`,
      [user],
    );
    const { writer, calls } = scriptedWriter();
    await drainOutbox({ db, logger, writerOf: (u) => (u === user ? writer : undefined) }, { limit: 100, signal });
    expect(calls).toEqual(['create calendar Kick-off uid=set']);
    const links = (
      await instance.query<{ exh_app_item_id: string }>(
        "SELECT exh_app_item_id FROM exh_meeting WHERE exh_app_item_id = 'meet-1'",
      )
    ).rows;
    expect(links).toHaveLength(1);
  });
});
