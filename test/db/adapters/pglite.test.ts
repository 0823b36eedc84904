import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createPgliteDatabase } from '../../../src/db/adapters/pglite.js';
import { installInto } from '../../../src/db/commands.js';
import { isExhError } from '../../../src/errors.js';
import { clusterContract } from '../cluster-contract.js';
import { databaseContract } from '../contract.js';

const notADirectory = join(tmpdir(), `exh-pglite-not-a-directory-${process.pid}`);
await writeFile(notADirectory, 'a file where the data directory should be');
afterAll(() => rm(notADirectory, { force: true }));

databaseContract('PGlite (in memory)', {
  async fresh() {
    const instance = await PGlite.create();
    const db = createPgliteDatabase({ instance });
    await db.connect();
    return {
      db,
      sql: async (text, params) => (await instance.query<never>(text, params)).rows,
      dispose: async () => {
        await db.close();
        await instance.close();
      },
    };
  },
  unreachable: () => createPgliteDatabase({ dataDir: notADirectory }),
});

clusterContract('PGlite (in memory)', {
  async fresh() {
    const instance = await PGlite.create();
    const db = createPgliteDatabase({ instance });
    await db.connect();
    return {
      db,
      sql: async (text, params) => (await instance.query<never>(text, params)).rows,
      dispose: async () => {
        await db.close();
        await instance.close();
      },
    };
  },
});

describe('PGlite: a page in one statement', () => {
  it('sends every call of a page, its change keys, meetings and watermark as one simple-protocol Query', async () => {
    const instance = await PGlite.create();
    const db = createPgliteDatabase({ instance });
    try {
      await db.connect();
      await installInto(db, { exampleApp: true });
      // Every protocol message PGlite hands its backend; the statements are the Query ('Q') and Parse ('P') messages.
      const sent = vi.spyOn(instance, 'execProtocolStream');
      const changes = Array.from({ length: 50 }, (_, i) => ({
        action: 'add' as const,
        fields: { item_id: `P${i}`, subject: `it's ${i}` },
        changeKey: `ck-${i}`,
      }));
      await db.applyChanges({
        user: 'one@example.com',
        itemType: 'calendar',
        changes,
        meetings: [{ uid: 'UID-P', appItemId: 'app-P' }],
        watermark: 'w',
      });
      const statements = sent.mock.calls
        .map(([message]) => String.fromCharCode(message[0] ?? 0))
        .filter((t) => 'QP'.includes(t));
      expect(statements).toEqual(['Q']);
      sent.mockRestore();
      const { rows } = await instance.query<{ n: number }>(
        "SELECT (SELECT count(*) FROM calendar_item WHERE exh_user = 'one@example.com')::int + (SELECT count(*) FROM exh_item_version WHERE exh_item_id LIKE 'P%')::int AS n",
      );
      expect(rows).toEqual([{ n: 100 }]);
      // A page that fails names its procedure, and its error does not carry the whole page's SQL along.
      const error = await db
        .applyChanges({
          user: 'one@example.com',
          itemType: 'calendar',
          changes: [...changes, { action: 'chg', fields: { item_id: 'P0', start: 'not a date' } }],
          watermark: 'w2',
        })
        .catch((e: unknown) => e);
      expect(isExhError(error, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
      expect((error as Error).message).toContain('exh_from_exh_chg_calendar failed');
      expect(String(((error as Error).cause as { query?: unknown }).query).length).toBeLessThanOrEqual(201);
    } finally {
      await db.close();
      await instance.close();
    }
  }, 60_000);
});
