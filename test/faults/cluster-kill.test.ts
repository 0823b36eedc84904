import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '../../src/http/status.js';
import { testSecret } from '../support/log-scan.js';
import { freePort } from '../support/net.js';
import { schemaUrl } from '../support/pg.js';
import { insertRow } from './support/app-rows.js';
import { type ExhRun, sigkill, startExh, writeExhConfig } from './support/exh-runs.js';
import { FaultProxy } from './support/fault-proxy.js';
import { type FaultWorld, faultWorld } from './support/fault-world.js';
import { seededRandom } from './support/random.js';
import { exchangeSide, itemInput, itemTables } from './support/tally.js';
import { appIdOf, describeTwoWay, type TwoWayTally, twoWayAgree, twoWayTally } from './support/two-way-tally.js';
import { secs, sleep, until } from './support/wait.js';
import { installWriteAudit, itemStory, readWriteAudit, watermarkStory } from './support/write-audit.js';

const pgUrl = process.env.PG_URL;
if (!pgUrl) console.warn('test/faults/cluster-kill.test.ts skipped: PG_URL is not set');

const users = Array.from({ length: 9 }, (_, i) => `member${i}@contoso.test`);
const leaseSeconds = 4;
const heartbeatSeconds = 1;
/** Kills, restarts and additions (issue 17: at least 20); CLUSTER_KILL_EVENTS changes it for a longer hunt. */
const events = Number(process.env.CLUSTER_KILL_EVENTS ?? 24);
/** The application's tables the workload writes (e-mail only comes from Exchange). */
const appTables = ['task_item', 'contact_item', 'calendar_item'] as const;

interface Instance {
  id: string;
  run: ExhRun;
  httpPort: number;
  /** The instance's way to the database: stalled to cut it off (a partition), its connections held. */
  proxy: FaultProxy;
}

/**
 * Several `exh start` processes on one database, killed (docs/scale-out.md, docs/reliability.md): three instances
 * with a `cluster` configuration (4 s leases, a beat a second) on one schema of the PostgreSQL server and one
 * emulator, while people change their mailboxes (items made, changed and deleted over the emulator's admin API) and
 * the application changes its rows (through exh_outbox to Exchange), in nine mailboxes at once. Meanwhile instances
 * are killed with SIGKILL, restarted under their id, and added under new ids; some are cut off from the database past
 * their lease (their connections stalled in a proxy, then healed) and some stopped (SIGSTOP) past it and let go on.
 * After each SIGKILL the killed instance's mailboxes must be live elsewhere within the lease plus a generous margin.
 *
 * At the end, with the workload stopped: every item once in Exchange and once in the database with its last value,
 * every outbox row done, every mailbox running in exactly one live instance, the one whose unexpired lease it holds,
 * and no write committed by an instance that did not hold the lease at its commit (a deferred trigger on exh_watermark
 * and exh_outbox records the writer, by its connection's application_name, and the lease row then:
 * support/write-audit.ts; with fencedDatabase made to pass through, a run counted 13 pages committed by an instance
 * cut off from the database while another held the lease, and failed on that alone). People and the application
 * change different items (each only its own), so the end state has one right answer; concurrent changes of one item
 * are test/faults/convergence.test.ts's.
 *
 * Its first runs found people's deletions lost across a change of hands (a mailbox started from the new holder's own
 * stale watermark): fixed by 67f438a, pinned by test/cluster/handover.test.ts. On failure the case prints each
 * item's rows (who inserted and deleted them) and the user's watermark writes, and writes every process's records to
 * a folder it names.
 */
describe.skipIf(!pgUrl)('several exh processes on one database, killed, restarted and added (PG_URL)', () => {
  let world: FaultWorld;
  let app: pg.Client;
  const token = testSecret('listeners.database.token');
  const live = new Map<string, Instance>();
  /** Every process started, in order, killed or not: their records are written out when the case fails. */
  const history: Instance[] = [];
  const paused = new Set<string>();

  beforeAll(async () => {
    world = await faultWorld(pgUrl as string, 'clusterkill', users);
    await installWriteAudit(world.admin, world.schema);
    app = new pg.Client({ connectionString: schemaUrl(pgUrl as string, world.schema) });
    await app.connect();
  });
  afterAll(async () => {
    for (const instance of live.values()) {
      if (paused.has(instance.id)) instance.run.child.kill('SIGCONT');
      await sigkill(instance.run);
    }
    for (const instance of history) await instance.proxy.down();
    await app?.end();
    await world?.close();
  });

  /** An `exh start` process as instance `id`; its sessions carry the id as application_name (for the audit). */
  async function start(id: string): Promise<Instance> {
    const server = new URL(pgUrl as string);
    const proxy = new FaultProxy(await freePort(), { host: server.hostname, port: Number(server.port || 5432) });
    await proxy.open();
    const connectionString = new URL(schemaUrl(pgUrl as string, world.schema, { port: proxy.port }));
    connectionString.searchParams.set('application_name', id);
    const httpPort = await freePort();
    const configFile = writeExhConfig(
      world.emulator,
      { connectionString: connectionString.toString() },
      {
        log: { level: 'info', format: 'json' },
        sync: { outboxPollMs: 200 },
        cluster: { instanceId: id, leaseSeconds, heartbeatSeconds },
        listeners: { database: { token }, http: { enabled: true, host: '127.0.0.1', port: httpPort } },
      },
    );
    const instance = { id, run: startExh(configFile), httpPort, proxy };
    live.set(id, instance);
    history.push(instance);
    return instance;
  }

  const kill = async (instance: Instance) => {
    live.delete(instance.id);
    await sigkill(instance.run);
    await instance.proxy.down();
  };

  /** Writes every process's records to a file each (instance id and start order in its name); returns the folder. */
  function dumpRecords(): string {
    const folder = mkdtempSync(join(tmpdir(), 'exh-cluster-kill-'));
    history.forEach((instance, i) => {
      const lines = instance.run.records.map((r) => JSON.stringify(r)).join('\n');
      writeFileSync(join(folder, `${String(i).padStart(2, '0')}-${instance.id}.jsonl`), `${lines}\n`);
    });
    return folder;
  }

  const recordTime = (time: unknown) => (typeof time === 'number' ? time : Date.parse(String(time)));

  /** Leases unexpired now, by user: the holder. */
  async function leaseHolders(): Promise<Map<string, string>> {
    const { rows } = await world.admin.query<{ exh_user: string; exh_instance_id: string }>(
      `SELECT exh_user, exh_instance_id FROM ${world.schema}.exh_lease WHERE exh_expires_at > now()`,
    );
    return new Map(rows.map((r) => [r.exh_user, r.exh_instance_id]));
  }

  /** Every one of `moved` leased to a live instance other than `gone`, which logged it live since `since`. */
  async function runningElsewhere(moved: readonly string[], gone: string, since: number): Promise<boolean> {
    const holders = await leaseHolders();
    return moved.every((user) => {
      const holder = holders.get(user);
      const instance = holder === undefined || holder === gone ? undefined : live.get(holder);
      return (
        instance !== undefined &&
        !paused.has(instance.id) &&
        instance.run.records.some((r) => r.event === 'mailbox.live' && r.user === user && recordTime(r.time) >= since)
      );
    });
  }

  /** Each instance's own view of the mailboxes it runs, and their states (GET /api/status). */
  async function mailboxesRunning(): Promise<Map<string, Array<{ id: string; state: string }>>> {
    const where = new Map<string, Array<{ id: string; state: string }>>();
    for (const instance of live.values()) {
      const response = await fetch(`http://127.0.0.1:${instance.httpPort}/api/status`);
      if (!response.ok) throw new Error(`${instance.id}: /api/status answered ${response.status}`);
      const status = (await response.json()) as Status;
      for (const mailbox of status.mailboxes.list) {
        where.set(mailbox.user, [...(where.get(mailbox.user) ?? []), { id: instance.id, state: mailbox.state }]);
      }
    }
    return where;
  }

  /** The cluster settled: each mailbox live in exactly one live instance, the one holding its unexpired lease. */
  async function settledPlacement(): Promise<string | undefined> {
    const [where, holders] = [await mailboxesRunning().catch((e: Error) => e), await leaseHolders()];
    if (where instanceof Error) return where.message;
    for (const user of users) {
      const running = where.get(user) ?? [];
      if (running.length !== 1) return `${user} runs in ${running.map((r) => r.id).join(', ') || 'no instance'}`;
      const [only] = running;
      if (only?.state !== 'live') return `${user} is ${only?.state} in ${only?.id}`;
      if (holders.get(user) !== only.id) return `${user} runs in ${only.id}, its lease is ${holders.get(user)}'s`;
    }
    return undefined;
  }

  /** Waits for settledPlacement, naming what is not settled yet when it does not come. */
  async function settled(what: string): Promise<void> {
    let why: string | undefined;
    await until(
      what,
      async () => {
        why = await settledPlacement();
        return why === undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, describe: () => why ?? '' },
    );
  }

  async function pendingOutbox(): Promise<number> {
    const { rows } = await world.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${world.schema}.exh_outbox WHERE exh_state <> 'done'`,
    );
    return rows[0]?.n ?? 0;
  }

  it(`${events} kills, restarts and additions of three instances under a two-way workload: each item once, every mailbox in one instance, no fenced write`, async () => {
    const random = seededRandom('several exh processes killed');
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random.next() * list.length)] as T;

    for (const id of ['exh-a', 'exh-b', 'exh-c']) await start(id);
    await settled('three instances sharing the mailboxes');

    // The workload: people and the application, each a change every ~150 ms, until told to stop.
    let working = true;
    const done = { people: 0, application: 0 };
    let madeByPeople = 0;
    let madeByApplication = 0;
    const deletedByPeople = new Map<string, string>();
    const people = (async () => {
      while (working) {
        const user = pick(users);
        const own = itemTables.flatMap((table) =>
          exchangeSide[table].folders
            .flatMap((folder) => world.emulator.admin.items(user, folder))
            .filter((item) => item.kind === exchangeSide[table].kind && appIdOf(item) === undefined)
            .map((item) => ({ id: item.id, label: exchangeSide[table].label })),
        );
        const roll = random.next();
        if (roll < 0.5 || own.length < 4) {
          world.emulator.admin.createItem(user, itemInput(`person ${madeByPeople}`, madeByPeople));
          madeByPeople += 1;
        } else if (roll < 0.8) {
          const item = pick(own);
          world.emulator.admin.updateItem(user, item.id, { [item.label]: `changed by a person ${done.people}` });
        } else {
          const item = pick(own);
          world.emulator.admin.deleteItem(user, item.id);
          deletedByPeople.set(item.id, `${user} at ${new Date().toISOString()}`);
        }
        done.people += 1;
        await sleep(random.between(50, 250));
      }
    })();
    const application = (async () => {
      while (working) {
        const user = pick(users);
        const table = pick(appTables);
        const { column } = exchangeSide[table];
        const { rows } = await app.query<{ exh_app_item_id: string }>(
          `SELECT exh_app_item_id FROM ${table} WHERE exh_user = $1 AND exh_app_item_id LIKE 'app-%'`,
          [user],
        );
        const roll = random.next();
        if (roll < 0.5 || rows.length < 3) {
          const appItemId = `app-${madeByApplication}`;
          const row = insertRow(
            table,
            appItemId,
            user,
            `made by the application ${madeByApplication}`,
            madeByApplication,
          );
          await app.query(row.sql, row.params);
          madeByApplication += 1;
        } else if (roll < 0.85) {
          await app.query(`UPDATE ${table} SET ${column} = $1 WHERE exh_app_item_id = $2`, [
            `changed by the application ${done.application}`,
            pick(rows).exh_app_item_id,
          ]);
        } else await app.query(`DELETE FROM ${table} WHERE exh_app_item_id = $1`, [pick(rows).exh_app_item_id]);
        done.application += 1;
        await sleep(random.between(50, 250));
      }
    })();

    const failovers: Array<{ id: string; mailboxes: number; ms: number }> = [];
    const happened = { kill: 0, restart: 0, add: 0, pause: 0, partition: 0 };
    const down: string[] = [];
    let nextId = 'd'.charCodeAt(0);
    try {
      for (let event = 0; event < events; event++) {
        const running = [...live.values()];
        const action =
          running.length <= 1 ? 'start' : running.length >= 4 ? 'kill' : random.next() < 0.5 ? 'kill' : 'start';
        if (action === 'kill') {
          const victim = pick(running);
          const held = [...(await leaseHolders())].filter(([, holder]) => holder === victim.id).map(([u]) => u);
          const killedAt = Date.now();
          await kill(victim);
          down.push(victim.id);
          happened.kill += 1;
          const movedAt = await until(
            `the mailboxes of ${victim.id} (${held.join(', ')}) live elsewhere after its SIGKILL`,
            () => runningElsewhere(held, victim.id, killedAt),
            { timeoutMs: (leaseSeconds + 60) * 1000, intervalMs: 100 },
          );
          failovers.push({ id: victim.id, mailboxes: held.length, ms: movedAt - killedAt });
        } else {
          // Half the time the longest-dead instance comes back under its id (systemd's restart), else a new one.
          const restart = down.length > 0 && random.next() < 0.5;
          const id = restart ? (down.shift() as string) : `exh-${String.fromCharCode(nextId++)}`;
          const instance = await start(id);
          happened[restart ? 'restart' : 'add'] += 1;
          await instance.run.waitForRecord((r) => r.event === 'cluster.joined', 60_000);
        }
        // A few times, one instance is cut off from the database past its lease (its connections stalled, nothing
        // closed) while it goes on with Exchange: the pages and completions it sends meanwhile wait in the network
        // and reach the server when it heals, after its mailboxes ran elsewhere. Each must be refused.
        if (event % 6 === 2 && live.size >= 2) {
          const cutOff = pick([...live.values()]);
          paused.add(cutOff.id);
          cutOff.proxy.stall();
          await sleep((leaseSeconds + 3) * 1000);
          cutOff.proxy.resume();
          paused.delete(cutOff.id);
          happened.partition += 1;
        }
        // A few times, one instance stops (SIGSTOP) past its lease and goes on (SIGCONT): whatever it had in flight
        // then must be refused, since its mailboxes ran elsewhere meanwhile.
        if (event % 6 === 5 && live.size >= 2) {
          const sleeper = pick([...live.values()]);
          paused.add(sleeper.id);
          sleeper.run.child.kill('SIGSTOP');
          await sleep((leaseSeconds + 3) * 1000);
          sleeper.run.child.kill('SIGCONT');
          paused.delete(sleeper.id);
          happened.pause += 1;
        }
        await sleep(random.between(500, 3_000));
      }
    } finally {
      working = false;
      await Promise.all([people, application]);
    }

    // Settled: every outbox row done, every mailbox live in one instance, its lease holder; then the data both ways.
    await until('every outbox row done', async () => (await pendingOutbox()) === 0, {
      timeoutMs: 180_000,
      intervalMs: 500,
      describe: async () => `${await pendingOutbox()} rows not done`,
    });
    await settled('each mailbox live in exactly one live instance, its lease holder');
    let tally: TwoWayTally | undefined;
    const unsettled = await until(
      'every item once in Exchange and in the database, with its last value',
      async () => {
        tally = await twoWayTally(world.admin, world.schema, world.emulator, users);
        return twoWayAgree(tally) && (await pendingOutbox()) === 0;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 1_000,
        describe: () => (tally ? `${describeTwoWay(tally)}; ${tally.examples.join('; ')}` : ''),
      },
    ).then(
      () => undefined,
      (error: Error) => error,
    );
    const audit = await readWriteAudit(world.admin, world.schema);
    const final = tally as TwoWayTally;

    for (const f of failovers) {
      console.log(
        `cluster-kill: failover after SIGKILL of ${f.id}: ${f.mailboxes} mailbox${f.mailboxes === 1 ? '' : 'es'} ` +
          `live elsewhere after ${secs(f.ms)} (lease ${leaseSeconds} s)`,
      );
    }
    const total = happened.kill + happened.restart + happened.add;
    console.log(
      `cluster-kill: events ${total} (${happened.kill} SIGKILL, ${happened.restart} restarts, ${happened.add} added; ` +
        `and ${happened.pause} SIGSTOP and ${happened.partition} cut off from the database past the lease) ` +
        `(seed ${random.seed})`,
    );
    console.log(
      `cluster-kill: workload ${done.people} changes by people, ${done.application} by the application ` +
        `(${madeByPeople} and ${madeByApplication} items made)`,
    );
    console.log(`cluster-kill: items ${final.items} in Exchange, ${final.rows} rows`);
    console.log(`cluster-kill: duplicates ${final.duplicates}`);
    console.log(`cluster-kill: lost ${final.lost}`);
    console.log(
      `cluster-kill: writes committed ${audit.writes} (watermarks and outbox completions), from a fenced instance ` +
        `${audit.fenced}, by the holder past the lease's time ${audit.lateButHeld}`,
    );
    if (unsettled || audit.fenced > 0) {
      const ids = [...(unsettled?.message ?? '').matchAll(/item ([^\s,]+)/g)].map((m) => m[1] ?? '');
      const deletions = ids.map((id) => `${id} deleted by its owner: ${deletedByPeople.get(id) ?? 'no'}`);
      const story = await itemStory(world.admin, world.schema, ids);
      console.log(`cluster-kill: failed; ${deletions.join('; ')}; the processes' records: ${dumpRecords()}`);
      console.log(`cluster-kill: the rows of those items:\n${story.join('\n')}`);
      const user = /(\S+@contoso\.test)/.exec(unsettled?.message ?? '')?.[1];
      if (user)
        console.log(
          `cluster-kill: ${user}'s watermark:\n${(await watermarkStory(world.admin, world.schema, user)).join('\n')}`,
        );
    }
    // The reason first, so that a CI log's one line per failure names what was lost, duplicated or stale.
    expect(unsettled, unsettled?.message).toBeUndefined();
    expect(audit.fenced, audit.examples.join('\n')).toBe(0);
    expect(total).toBeGreaterThanOrEqual(20);
    // Within the lease (issue 17): it ends, another instance claims it at its next heartbeat, and opens the mailbox
    // (15 s for that on a loaded machine; measured 4–6 s here). The wait above gives up later, so this can fail.
    for (const f of failovers)
      expect(f.ms, `failover after SIGKILL of ${f.id}`).toBeLessThanOrEqual(
        (leaseSeconds + heartbeatSeconds + 15) * 1000,
      );
  }, 1_500_000);
});
