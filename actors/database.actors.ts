import { fromPromise } from 'xstate';
import type { DatabasePort } from '../src/ports/database.port.js';

/** The database machine's effects, closed over the adapter (src/db/adapters/). */
export function createDatabaseActors(deps: { db: DatabasePort }) {
  return {
    connect: fromPromise<void>(() => deps.db.connect()),
    probe: fromPromise<void>(() => deps.db.probe()),
    disconnect: fromPromise<void>(() => deps.db.close()),
  };
}
