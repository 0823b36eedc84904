import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll } from 'vitest';
import { createPgliteDatabase } from '../../../src/db/adapters/pglite.js';
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
