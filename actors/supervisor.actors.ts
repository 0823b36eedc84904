import { fromPromise } from 'xstate';
import type { ExchangePool } from '../src/pool/exchange-pool.js';
import type { DatabasePort, SetUp, UserRegistration } from '../src/ports/database.port.js';

export interface SupervisorDeps {
  db: DatabasePort;
  pool: ExchangePool;
  setUp: SetUp;
  /** Closes the listeners; awaited here because a callback actor's cleanup cannot be. */
  closeListeners: () => Promise<void>;
}

export function createSupervisorActors(deps: SupervisorDeps) {
  return {
    // Seed §Initialization 2–3, in this order: the database's senders must know where to reach us before any
    // mailbox starts producing changes they might answer.
    startUp: fromPromise<UserRegistration[]>(async () => {
      await deps.db.writeSetUp(deps.setUp);
      return deps.db.getUsers();
    }),
    // Reverse start order; the log feed goes last so that a telnet client sees the whole stop.
    shutdown: fromPromise<void>(async () => {
      await deps.pool.close();
      await deps.db.close();
      await deps.closeListeners();
    }),
  };
}
