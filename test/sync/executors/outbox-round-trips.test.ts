import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../../../src/db/adapters/postgres.js';
import { installInto } from '../../../src/db/commands.js';
import { createLogging } from '../../../src/logging/logger.js';
import { SyncLocks, syncLockKey } from '../../../src/mailbox/sync-locks.js';
import type { ControlPort } from '../../../src/ports/control.port.js';
import type { MailboxWriter } from '../../../src/ports/exchange.port.js';
import { type ConflictSettings, drainQueue } from '../../../src/sync/executors/outbox.js';
import { OwnWrites } from '../../../src/sync/executors/own-writes.js';
import { inSchema } from '../../db/pg-schema.js';
import { countingProxy } from '../../support/pg-round-trips.js';

/**
 * The database statements of the outbox's drain, counted on the PostgreSQL protocol between the connector and the
 * server (test/support/pg-round-trips.ts): what each row costs today, so that a statement more per row fails here.
 * Exchange is a scripted MailboxWriter (the EWS writer against the emulator is tested in test/exchange).
 */
const url = process.env.PG_URL;
const { logger } = createLogging({ format: 'json', stdout: { write: () => {} } });
const signal = new AbortController().signal;
const control: ControlPort = {
  syncUsers: () => {},
  syncItems: async () => ({ added: 0, changed: 0, deleted: 0, failed: 0 }),
  retryFailed: async () => ({ retried: 0, rereading: [] }),
};

/** Exchange as a script: what each call was given, and ids and change keys numbered in order. */
function scriptedWriter() {
  const uids: string[] = [];
  const updates: string[] = [];
  let next = 0;
  const writer: MailboxWriter = {
    async createItem(write) {
      if (write.uid) uids.push(write.uid);
      next += 1;
      return { itemId: `AAMk-${next}`, changeKey: `ck-${next}` };
    },
    async updateItem(itemId, _write, options) {
      updates.push(`${itemId} over ${options.changeKey ?? 'no key'}`);
      next += 1;
      return { itemId, changeKey: `ck-${next}` };
    },
    async deleteItem() {},
    async readItem() {
      return null;
    },
    async findByAppItemId() {
      throw new Error('a first attempt does not look for what it made');
    },
    async getAttachment() {
      throw new Error('not used here');
    },
    async addAttachment() {
      throw new Error('not used here');
    },
  };
  return { writer, uids, updates };
}

describe.skipIf(!url)('the outbox drain: database round trips per row (needs PG_URL)', () => {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  // The application, in the schema (its triggers call the base project's procedures by their unqualified names).
  let app: pg.Pool;
  const server = new URL(url ?? 'postgres://x');
  const schema = `exh_test_${randomBytes(6).toString('hex')}`;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let db: ReturnType<typeof createPostgresDatabase>;
  beforeAll(async () => {
    await admin.query(`CREATE SCHEMA ${schema}`);
    proxy = await countingProxy(server.hostname, Number(server.port || 5432));
    const target = new URL(inSchema(url ?? '', schema));
    target.hostname = '127.0.0.1';
    target.port = String(proxy.port);
    db = createPostgresDatabase(target.toString());
    await db.connect();
    await installInto(db, { exampleApp: true });
    app = new pg.Pool({ connectionString: inSchema(url ?? '', schema), max: 2 });
  });
  afterAll(async () => {
    await db?.close();
    await app?.end();
    await proxy?.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  const drain = async (user: string, writer: MailboxWriter) => {
    const locks = new SyncLocks();
    const conflicts: ConflictSettings = {
      rule: 'exchange-wins',
      exclusive: (u, type, work) => locks.run(syncLockKey(u, type), work),
      ownWrites: new OwnWrites(),
    };
    const rows = (await db.readOutbox(100)).filter((row) => row.user === user);
    proxy.reset();
    const outcome = await drainQueue(
      { db, logger, control, maxAttachmentBytes: 0, isRegistered: () => true, writerOf: () => writer, conflicts },
      rows,
      { signal, firstAttempt: () => true },
    );
    return { outcome, statements: proxy.counts.statements };
  };

  // Three statements a create: its meeting's link, its change key, its outcome (only the last sent while the next row
  // is written). Recording the key with the outcome, and linking a run's meetings at once (1 + 1 a row), let
  // test/faults/convergence.test.ts end unconverged (CONVERGENCE_SEED=7 and 1235028320): reverted, cause not found yet.
  it('a run of meeting creates: three statements per row (its link, its change key, its outcome)', async () => {
    const user = 'creates@contoso.test';
    for (const n of [1, 2, 3, 4, 5]) {
      await app.query(
        `INSERT INTO calendar_item (exh_app_item_id, exh_user, exh_subject, exh_start, exh_end)
         VALUES ($1, $2, $3, '2026-03-01T09:00:00Z', '2026-03-01T10:00:00Z')`,
        [`meeting-${n}`, user, `meeting ${n}`],
      );
    }
    const { writer, uids } = scriptedWriter();
    const { outcome, statements } = await drain(user, writer);
    expect(outcome).toEqual({ done: 5, failed: 0, waiting: 0 });
    expect(statements).toBe(5 * 3);
    const outbox = await admin.query(
      `SELECT exh_state, exh_output_value FROM ${schema}.exh_outbox WHERE exh_user = $1 ORDER BY exh_outbox_id`,
      [user],
    );
    expect(outbox.rows.map((row) => [row.exh_state, row.exh_output_value])).toEqual(
      [1, 2, 3, 4, 5].map((n) => ['done', `AAMk-${n}`]),
    );
    // Each row's change key went with its outcome; each meeting's UID was linked before it was created.
    const versions = await admin.query(
      `SELECT exh_item_id, exh_change_key FROM ${schema}.exh_item_version ORDER BY exh_item_id`,
    );
    expect(versions.rows.map((row) => [row.exh_item_id, row.exh_change_key])).toEqual(
      [1, 2, 3, 4, 5].map((n) => [`AAMk-${n}`, `ck-${n}`]),
    );
    const links = await admin.query(
      `SELECT exh_uid, exh_app_item_id FROM ${schema}.exh_meeting WHERE exh_uid = ANY($1::text[])`,
      [uids],
    );
    expect(uids).toHaveLength(5);
    expect(links.rows.map((row) => row.exh_app_item_id).sort()).toEqual([1, 2, 3, 4, 5].map((n) => `meeting-${n}`));
  });

  // A change reads its item's known key and keeps its new one on its path (the sync decides conflicts of the item by
  // it); only its outcome waits. Counted as statements, not round trips: the row's statements and the previous row's
  // record overlap, and the pool opens a second connection for them.
  it('a run of changes: three statements per row (its known key, its new key, its outcome)', async () => {
    const user = 'changes@contoso.test';
    for (const n of [1, 2, 3]) {
      await app.query(
        `INSERT INTO task_item (exh_app_item_id, exh_item_id, exh_user, exh_subject) VALUES ($1, $2, $3, 'a')`,
        [`task-${n}`, `T-${n}`, user],
      );
      await db.rememberItemVersion({ user, itemType: 'task', itemId: `T-${n}`, changeKey: `known-${n}` });
    }
    await app.query('DELETE FROM exh_outbox WHERE exh_user = $1', [user]);
    await app.query(`UPDATE task_item SET exh_subject = 'b' WHERE exh_user = $1`, [user]);
    // The first item twice: its second change is written over the key its first left (not yet recorded, perhaps).
    await app.query(`UPDATE task_item SET exh_subject = 'c' WHERE exh_app_item_id = 'task-1'`);
    const { writer, updates } = scriptedWriter();
    const { outcome, statements } = await drain(user, writer);
    expect(outcome).toEqual({ done: 4, failed: 0, waiting: 0 });
    expect(statements).toBe(4 * 3);
    expect(updates).toEqual(['T-1 over known-1', 'T-2 over known-2', 'T-3 over known-3', 'T-1 over ck-1']);
    const versions = await admin.query(
      `SELECT exh_item_id, exh_change_key FROM ${schema}.exh_item_version WHERE exh_user = $1 ORDER BY exh_item_id`,
      [user],
    );
    expect(versions.rows.map((row) => [row.exh_item_id, row.exh_change_key])).toEqual([
      ['T-1', 'ck-4'],
      ['T-2', 'ck-2'],
      ['T-3', 'ck-3'],
    ]);
  });
});
