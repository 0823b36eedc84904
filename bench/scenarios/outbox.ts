/**
 * Database → Exchange: rows the application queues, applied by the connector, against a plain CreateItem client.
 *
 *   node --import tsx bench/scenarios/outbox.ts [--quick]
 *
 * 20 users (quick: 5) × 100 appointments (quick: 20) with bodies, attendees and categories (../support/appointment.ts).
 * The limit: a plain SOAP client creating the same appointments with CreateItem, one worker per user, all users at
 * once, in its own process against the emulator served alone (../support/raw-create-item.ts). Then the connector
 * (exchange.concurrency = the number of users, the same concurrency) runs live on its users, the application inserts
 * every row into calendar_item in one transaction (its trigger queues them in exh_outbox, docs/database.md "The
 * outbox"), and the figure is rows done per second from that commit to the last row's exh_completed_at; every row must
 * be done and every user's calendar in the emulator must hold its appointments.
 */

import { insertAppointments } from '../support/appointment.js';
import { startConnector } from '../support/connector.js';
import { freshSchema } from '../support/database.js';
import { startEmulatorProcess } from '../support/emulator.js';
import { freePort, readiness } from '../support/http-probe.js';
import { appointmentsFrom } from '../support/items.js';
import { spawnTs, waitUntil } from '../support/process.js';
import { figure, perSecond, progress, quick, ratio, runScenario } from '../support/report.js';

const userCount = quick ? 5 : 20;
const perUser = quick ? 20 : 100;
const total = userCount * perUser;
const users = Array.from({ length: userCount }, (_, i) => `outbox${i}@contoso.test`);
const rawUsers = Array.from({ length: userCount }, (_, i) => `raw${i}@contoso.test`);

/** Runs the plain CreateItem client in its own process; its figure is the one JSON line it prints. */
async function rawCreateItem(request: Record<string, unknown>): Promise<{ created: number; seconds: number }> {
  let result: { created: number; seconds: number } | undefined;
  const child = spawnTs('bench/support/raw-create-item.ts', [JSON.stringify(request)], {
    onLine: (line) => {
      result = JSON.parse(line);
    },
  });
  const { code } = await child.exited;
  if (code !== 0 || !result) throw new Error(`The plain CreateItem client exited with ${code}`);
  return result;
}

runScenario(async () => {
  const emulator = await startEmulatorProcess({ mailboxes: [...users, ...rawUsers] });
  const db = await freshSchema('outbox', { users, types: ['calendar'] });
  let exh: ReturnType<typeof startConnector> | undefined;
  try {
    const from = appointmentsFrom();
    progress(`the limit: plain CreateItem, ${userCount} users × ${perUser} appointments, one worker per user`);
    const raw = await rawCreateItem({
      url: emulator.url,
      account: emulator.serviceAccount,
      password: emulator.password,
      users: rawUsers,
      perUser,
      from,
    });
    const rawRate = raw.created / raw.seconds;
    progress(`plain CreateItem: ${raw.created} in ${raw.seconds.toFixed(2)} s`);

    const port = await freePort();
    const options = {
      database: db.database,
      exchange: emulator.exchange('ews', { concurrency: userCount }),
      listeners: { http: { enabled: true, port } },
      logLevel: 'warn' as const,
    };
    progress(`connector: exchange.concurrency ${userCount}, EWS, streaming`);
    exh = startConnector(options);
    const connector = exh;
    await waitUntil(`${userCount} mailboxes live`, async () => ((await readiness(port))?.live ?? 0) >= userCount, {
      alive: connector.alive,
      intervalMs: 100,
      timeoutMs: 120_000,
    });

    progress(`the application inserts ${total} appointments in one transaction`);
    const insert = insertAppointments(users, perUser, from);
    const client = await db.pool.connect();
    let committed: number;
    try {
      await client.query('begin');
      await client.query(insert.text, insert.values);
      await client.query('commit');
      committed = Date.now();
    } finally {
      client.release();
    }
    const state = async () =>
      (
        await db.pool.query<{ done: number; failed: number; last: Date | null }>(
          `select count(*) filter (where exh_state = 'done')::int as done,
                  count(*) filter (where exh_state = 'failed')::int as failed,
                  max(exh_completed_at) as last
           from exh_outbox where exh_action = 'add'`,
        )
      ).rows[0] ?? { done: 0, failed: 0, last: null };
    await waitUntil(
      `${total} outbox rows done`,
      async () => {
        const now = await state();
        return now.done + now.failed >= total;
      },
      { alive: connector.alive, intervalMs: 100, timeoutMs: 600_000 },
    );
    const outcome = await state();
    if (outcome.failed > 0) {
      const failed = await db.pool.query(
        `select exh_exit_code, exh_error_message from exh_outbox where exh_state = 'failed' limit 3`,
      );
      throw new Error(`${outcome.failed} outbox rows failed, e.g. ${JSON.stringify(failed.rows)}`);
    }
    const seconds = ((outcome.last?.getTime() ?? Date.now()) - committed) / 1000;
    const mailboxes = await emulator.admin<{ address: string; folders: Record<string, number> }[]>('mailboxes');
    const short = mailboxes.filter((m) => users.includes(m.address) && (m.folders.calendar ?? 0) < perUser);
    if (short.length > 0)
      throw new Error(`Calendars without all their appointments: ${short.map((m) => m.address).join(', ')}`);
    const rate = total / seconds;
    // What the rows cost Exchange (the emulator's request log, its clock this machine's): the plain client's is 1.
    const logged = await emulator.admin<{ operation: string; mailbox?: string }[]>('requests', { since: committed });
    const perOperation = new Map<string, number>();
    for (const request of logged.filter((r) => r.mailbox !== undefined && users.includes(r.mailbox)))
      perOperation.set(request.operation, (perOperation.get(request.operation) ?? 0) + 1);
    const costs = [...perOperation].map(([operation, count]) => `${operation} ${(count / total).toFixed(2)}`);
    progress(`Exchange requests per row (from the commit on): ${costs.join(', ')}`);
    figure(
      `database → Exchange, ${userCount} users × ${perUser} appointments: ${perSecond(total, seconds)} rows/s, ` +
        `ratio ${ratio(rate / rawRate)} of the limit (plain CreateItem ${perSecond(raw.created, raw.seconds)}/s, ` +
        `${userCount} users at once) — target ≥ 0.8`,
    );
  } finally {
    if (exh) {
      const code = await exh.stop();
      if (code !== 0) progress(`the connector exited with ${code}`);
    }
    await db.drop();
    await emulator.stop();
  }
});
