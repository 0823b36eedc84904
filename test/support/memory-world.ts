import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createMemoryExchange } from '../../src/exchange/memory/index.js';
import { itemType, itemTypes } from '../../src/items/index.js';
import { createLogging } from '../../src/logging/logger.js';
import type { ItemTypeName } from '../../src/ports/database.port.js';
import type { CallOptions } from '../../src/ports/exchange.port.js';
import { type SyncSettings, syncItemType } from '../../src/sync/executors/sync-item-type.js';
import { exampleDatabase } from './example-database.js';

export const alice = 'alice@contoso.test';
export const bob = 'bob@contoso.test';

/**
 * The sync core between two real backends that are not EWS: PGlite with the base project and the example
 * application (users alice and bob), and the in-memory Exchange (src/exchange/memory/) with their mailboxes. The
 * core's tests on it (test/sync/*-memory.test.ts, sync-item-type.test.ts) show that the core assumes only the port.
 */
export async function memoryWorld(options: { now?: () => Date } = {}) {
  const database = await exampleDatabase([alice, bob]);
  const { instance, db } = database;
  const newExchange = () =>
    createMemoryExchange({ mailboxes: [alice, bob], ...(options.now ? { now: options.now } : {}) });
  let exchange = newExchange();
  const { logger } = createLogging({ level: 'silent', format: 'json', stdout: { write: () => {} } });
  const call: CallOptions = { signal: new AbortController().signal, priority: 'live' };

  const settings = (changes: Partial<SyncSettings> = {}): SyncSettings => ({
    htmlBody: false,
    maxBodyLength: 0,
    maxSyncedRecurrences: 0,
    meetingRequestsResponses: false,
    pageSize: 100,
    conflicts: 'exchange-wins',
    ...changes,
  });

  const world = {
    instance,
    db,
    get exchange() {
      return exchange;
    },
    get admin() {
      return exchange.admin;
    },
    logger,
    call,
    settings,
    connect: (user: string) => exchange.connect(user, call),
    /** The stored watermark of a user's type (exh_watermark), as the mailbox machine would start from it. */
    async watermark(user: string, type: ItemTypeName): Promise<string | null> {
      const { rows } = await instance.query<Record<string, string | null>>(
        `SELECT exh_watermark_${type} AS watermark FROM exh_watermark WHERE exh_user = $1`,
        [user],
      );
      return rows[0]?.watermark ?? null;
    },
    /** One run of the live sync of `type` for `user` from the stored watermark (or `from`). */
    async sync(
      user: string,
      type: ItemTypeName,
      changes: Partial<SyncSettings> = {},
      run: { from?: string | null; onCommitted?: (watermark: string) => void } = {},
    ) {
      return syncItemType(
        { db, connection: await world.connect(user), definition: itemType(type), settings: settings(changes), logger },
        {
          user,
          watermark: run.from === undefined ? await world.watermark(user, type) : run.from,
          signal: call.signal,
          ...(run.onCommitted ? { onCommitted: run.onCommitted } : {}),
        },
      );
    },
    /** The example application's rows of a type for a user, in the order they were made. */
    async rows(type: ItemTypeName, user: string): Promise<Array<Record<string, unknown>>> {
      return (
        await instance.query<Record<string, unknown>>(`SELECT * FROM ${type}_item WHERE exh_user = $1 ORDER BY id`, [
          user,
        ])
      ).rows;
    },
    async outbox(): Promise<Array<Record<string, unknown>>> {
      return (await instance.query<Record<string, unknown>>('SELECT * FROM exh_outbox ORDER BY exh_outbox_id')).rows;
    },
    async log(): Promise<Array<{ exh_code: string; exh_message: string }>> {
      return (
        await instance.query<{ exh_code: string; exh_message: string }>(
          'SELECT exh_code, exh_message FROM exh_log ORDER BY exh_log_id',
        )
      ).rows;
    },
    /** Empty mailboxes and empty tables again (installing the base project takes seconds; this does not). */
    async reset() {
      exchange = newExchange();
      const tables = [
        ...itemTypes.map((t) => `${t.name}_item`),
        'exh_outbox',
        'exh_log',
        'exh_meeting',
        'exh_item_version',
      ];
      await instance.exec(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY; DELETE FROM exh_watermark;`);
    },
    close: database.close,
  };
  return world;
}

export type MemoryWorld = Awaited<ReturnType<typeof memoryWorld>>;

/** One world for the tests of a file, handed to `ready` before them, emptied before each and closed after them. */
export function useMemoryWorld(ready: (world: MemoryWorld) => void): void {
  let world: MemoryWorld | undefined;
  beforeAll(async () => {
    world = await memoryWorld();
    ready(world);
  });
  beforeEach(async () => {
    await world?.reset();
  });
  afterAll(async () => {
    await world?.close();
  });
}
