import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPgliteDatabase } from '../../../src/db/adapters/pglite.js';
import { type PgConnection, type PgDriver, PostgresFamilyDatabase } from '../../../src/db/adapters/postgres-family.js';
import { installInto } from '../../../src/db/commands.js';
import { errors } from '../../../src/errors.js';

/** A driver whose open() the test finishes, counting what it opened and closed. */
function scriptedDriver() {
  const state = { opened: 0, closed: 0, probeFails: false };
  let finish: { resolve: (c: PgConnection) => void; reject: (e: unknown) => void } | undefined;
  const connection = (): PgConnection => ({
    query: async () => ({ rows: [] }),
    transaction: async (work) => work({ query: async () => ({ rows: [] }), exec: async () => {} }),
    exec: async () => {},
    batch: async () => {},
    probe: async () => {
      if (state.probeFails) throw new Error('Connection terminated unexpectedly');
    },
    listen: async () => async () => {},
    close: async () => {
      state.closed++;
    },
  });
  const driver: PgDriver = {
    type: 'postgres',
    target: 'postgres://db.contoso.test:5432/app',
    open: () =>
      new Promise<PgConnection>((resolve, reject) => {
        state.opened++;
        finish = { resolve, reject };
      }),
    isConnectionError: () => false,
  };
  return { driver, state, connection, finish: () => finish };
}

describe('PostgresFamilyDatabase: connecting (a scripted driver)', () => {
  it('opens one connection for callers that connect at the same time', async () => {
    const { driver, state, connection, finish } = scriptedDriver();
    const db = new PostgresFamilyDatabase(driver);
    const both = Promise.all([db.connect(), db.connect()]);
    finish()?.resolve(connection());
    await both;
    expect(state.opened).toBe(1);
    await db.connect();
    expect(state.opened).toBe(1);
    await db.close();
    expect(state.closed).toBe(1);
  });

  it('discards a connection that opens after close(), and tells the caller it was lost', async () => {
    const { driver, state, connection, finish } = scriptedDriver();
    const db = new PostgresFamilyDatabase(driver);
    const connecting = db.connect();
    await db.close();
    finish()?.resolve(connection());
    await expect(connecting).rejects.toMatchObject({
      code: 'EXH_DB_CONNECTION_LOST',
      message: expect.stringContaining('postgres://db.contoso.test:5432/app'),
    });
    expect(state.closed).toBe(1);
    await expect(db.getUsers()).rejects.toMatchObject({ code: 'EXH_DB_CONNECTION_LOST' });
  });

  it("names why the driver could not connect, and passes the driver's own coded error on", async () => {
    const { driver, finish } = scriptedDriver();
    const db = new PostgresFamilyDatabase(driver);
    const refused = db.connect();
    finish()?.reject(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }));
    await expect(refused).rejects.toMatchObject({ code: 'EXH_DB_CONNECTION_REFUSED', retryable: true });
    const missing = errors.driverMissing('pg', 'postgres', new Error('Cannot find module'));
    const noDriver = db.connect();
    finish()?.reject(missing);
    expect(await noDriver.catch((error: unknown) => error)).toBe(missing);
  });

  it('answers every call before connect, and a probe that fails, as a lost connection', async () => {
    const { driver, state, connection, finish } = scriptedDriver();
    const db = new PostgresFamilyDatabase(driver);
    await expect(db.readOutbox(10)).rejects.toMatchObject({
      code: 'EXH_DB_CONNECTION_LOST',
      message: expect.stringContaining('not connected'),
    });
    const connecting = db.connect();
    finish()?.resolve(connection());
    await connecting;
    await expect(db.probe()).resolves.toBeUndefined();
    state.probeFails = true;
    await expect(db.probe()).rejects.toMatchObject({ code: 'EXH_DB_CONNECTION_LOST', retryable: true });
    await db.close();
  });
});

describe('PostgresFamilyDatabase: the outbox (PGlite)', () => {
  let instance: PGlite;
  let db: PostgresFamilyDatabase;
  const alice = 'alice@contoso.test';

  beforeAll(async () => {
    instance = await PGlite.create();
    db = createPgliteDatabase({ instance });
    await db.connect();
    await installInto(db, { exampleApp: true });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await instance?.close();
  });

  it('keeps a row pending for 521 and 522 with no completion time, counting every attempt', async () => {
    await instance.query(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('app-1', $1, 'x')`, [
      alice,
    ]);
    const [entry] = await db.pendingItemChanges(alice.toUpperCase(), 'task');
    const id = entry?.id as string;
    const row = async () =>
      (
        await instance.query<{ exh_state: string; exh_attempts: number; done: boolean }>(
          'SELECT exh_state, exh_attempts, exh_completed_at IS NOT NULL AS done FROM exh_outbox WHERE exh_outbox_id = $1',
          [id],
        )
      ).rows[0];
    await db.completeOutbox(id, { exitCode: 522, outputValue: null, errorMessage: 'Exchange down' });
    expect(await row()).toEqual({ exh_state: 'pending', exh_attempts: 1, done: false });
    await db.completeOutbox(id, { exitCode: 1, outputValue: null, errorMessage: 'refused' });
    expect(await row()).toEqual({ exh_state: 'failed', exh_attempts: 2, done: true });
  });

  it('wakes a listening connector when failed rows are retried, and not when there were none', async () => {
    const heard: string[] = [];
    const stop = await db.watchOutbox((user) => heard.push(user));
    try {
      await instance.query("UPDATE exh_outbox SET exh_state = 'done'");
      heard.length = 0;
      // Nothing failed: nothing to wake anyone for (a notification here would show below as a second one).
      expect(await db.retryOutbox({})).toEqual({ retried: 0 });
      await instance.query(
        `INSERT INTO exh_outbox (exh_user, exh_item_type, exh_action, exh_payload, exh_state)
         VALUES ($1, 'task', 'del', '{"exh_item_id": "gone"}', 'failed')`,
        [alice],
      );
      expect(await db.retryOutbox({ user: alice })).toEqual({ retried: 1 });
      await vi.waitFor(() => expect(heard).toEqual(['']));
    } finally {
      await stop();
    }
  });
});
