import { describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { createSupervisorActors, uniqueUsers } from '../../actors/supervisor.actors.js';
import { createLogging } from '../../src/logging/logger.js';
import { ExchangePool } from '../../src/pool/exchange-pool.js';
import type { DatabasePort, SetUp, UserRegistration } from '../../src/ports/database.port.js';
import { registration } from '../machines/helpers.js';

/** A DatabasePort that records calls: the start-up steps' order is what is under test, not SQL. */
function recordingDatabase(users: UserRegistration[]) {
  const calls: string[] = [];
  const db = {
    writeSetUp: async (setUp: SetUp) => void calls.push(`writeSetUp ${setUp.ipAddress}:${setUp.port}`),
    getUsers: async () => {
      calls.push('getUsers');
      return users;
    },
    close: async () => void calls.push('close'),
  } as unknown as DatabasePort;
  return { db, calls };
}

describe('supervisor actors', () => {
  it('writes exh_set_up before reading the users, and starts each mailbox once whatever the case of the address', async () => {
    const lines: string[] = [];
    const { logger } = createLogging({ format: 'json', stdout: { write: (line: string) => void lines.push(line) } });
    const { db, calls } = recordingDatabase([
      registration('alice@contoso.test'),
      registration('Alice@Contoso.test'),
      registration('bob@contoso.test'),
    ]);
    const actors = createSupervisorActors({
      db,
      pool: new ExchangePool(1),
      setUp: async () => ({ ipAddress: '10.0.0.5', port: 9988, token: 't'.repeat(32) }),
      logger,
      committed: { clear: () => void calls.push('forgetCommittedWatermarks') },
      closeListeners: async () => void calls.push('closeListeners'),
    });
    const users = await toPromise(createActor(actors.startUp).start());
    expect(calls).toEqual(['forgetCommittedWatermarks', 'writeSetUp 10.0.0.5:9988', 'getUsers']);
    expect(users.map((u) => u.user)).toEqual(['alice@contoso.test', 'bob@contoso.test']);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ cat: 'W', duplicates: ['Alice@Contoso.test'] });

    await toPromise(createActor(actors.shutdown).start());
    expect(calls.slice(3)).toEqual(['close', 'closeListeners']);
  });

  it('uniqueUsers keeps the first row of each address', () => {
    const first = registration('a@x.test');
    expect(uniqueUsers([first, { ...registration('A@X.TEST'), sync: { ...first.sync, task: true } }])).toEqual({
      users: [first],
      duplicates: ['A@X.TEST'],
    });
  });
});
