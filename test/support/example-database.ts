import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll } from 'vitest';
import { createPgliteDatabase } from '../../src/db/adapters/pglite.js';
import { installInto } from '../../src/db/commands.js';

export interface ExampleDatabase {
  instance: PGlite;
  db: ReturnType<typeof createPgliteDatabase>;
  close(): Promise<void>;
}

/** An in-memory PGlite with the base project and the example application, `users` its rows of app_user. */
export async function exampleDatabase(users: string[] = []): Promise<ExampleDatabase> {
  const instance = await PGlite.create();
  const db = createPgliteDatabase({ instance });
  await db.connect();
  await installInto(db, { exampleApp: true });
  for (const user of users) await instance.query('INSERT INTO app_user (exh_user) VALUES ($1)', [user]);
  return {
    instance,
    db,
    async close() {
      await db.close();
      await instance.close();
    },
  };
}

/**
 * One example database for the tests of a file: made before them (installing takes seconds), handed to `ready`, closed
 * after them.
 */
export function useExampleDatabase(users: string[], ready: (database: ExampleDatabase) => void): void {
  let database: ExampleDatabase | undefined;
  beforeAll(async () => {
    database = await exampleDatabase(users);
    ready(database);
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });
}
