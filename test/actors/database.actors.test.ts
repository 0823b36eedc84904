import { describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { createDatabaseActors } from '../../actors/database.actors.js';
import { createPgliteDatabase } from '../../src/db/adapters/pglite.js';
import { errors } from '../../src/errors.js';
import type { DatabasePort } from '../../src/ports/database.port.js';

const run = <T>(logic: Parameters<typeof createActor>[0]) => toPromise(createActor(logic).start()) as Promise<T>;

describe('database actors', () => {
  it('connect, probe and disconnect run the adapter’s connect, probe and close on a real PGlite', async () => {
    const db = createPgliteDatabase({});
    const actors = createDatabaseActors({ db });
    // Not connected yet: the probe fails as the adapter says.
    await expect(run(actors.probe)).rejects.toMatchObject({ code: 'EXH_DB_CONNECTION_LOST' });
    await run(actors.connect);
    await expect(run(actors.probe)).resolves.toBeUndefined();
    await run(actors.disconnect);
    await expect(run(actors.probe)).rejects.toMatchObject({ code: 'EXH_DB_CONNECTION_LOST' });
  });

  it('passes the adapter’s error on unchanged, for the database machine to decide from its code', async () => {
    const lost = errors.databaseConnectionLost('memory://', new Error('socket closed'));
    const calls: string[] = [];
    const db = {
      connect: async () => void calls.push('connect'),
      probe: async () => {
        calls.push('probe');
        throw lost;
      },
      close: async () => void calls.push('close'),
    } as unknown as DatabasePort;
    const actors = createDatabaseActors({ db });
    await run(actors.connect);
    await expect(run(actors.probe)).rejects.toBe(lost);
    await run(actors.disconnect);
    expect(calls).toEqual(['connect', 'probe', 'close']);
  });
});
