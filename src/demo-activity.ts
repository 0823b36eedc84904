import type { PGlite } from '@electric-sql/pglite';
import type { EmulatorAdmin } from '../emulator/index.js';
import { describe } from './errors.js';
import type { ExhLogger } from './logging/logger.js';
import type { Direction } from './metrics/metrics.js';
import type { ItemTypeName } from './ports/database.port.js';

/**
 * The demo's simulated people (src/demo.ts; docs/operations.md, "The demo"). Each step is one action, taking turns
 * between the two sides: a user in "Outlook" (the emulator's admin API, which acts through the code EWS uses, so
 * notifications fire) and the application (rows of the example application's tables, whose triggers call
 * exh_to_exh_* and so write the outbox: docs/database.md, "The example application"). So both directions show on the
 * dashboard and in the log within a few steps. Each action logs one line saying what it did and in which direction,
 * and one more when the change has arrived on the other side (or has not within arrivalLimitMs).
 */
export interface DemoActivityDeps {
  /** The demo's in-memory database, the one the connector uses. */
  db: Pick<PGlite, 'query' | 'transaction'>;
  admin: Pick<EmulatorAdmin, 'createItem'>;
  /** The demo's three mailboxes: the first organises and keeps contacts, the second has tasks, the third e-mails. */
  users: readonly [string, string, string];
  log: ExhLogger;
  /** How often an arrival is looked for, and how long at most. */
  arrivalPollMs?: number;
  arrivalLimitMs?: number;
}

export interface DemoActivity {
  /** Takes the next action (a call while the previous one still runs is skipped). */
  step(): Promise<void>;
  /** No further actions or arrival checks. */
  stop(): void;
}

/** What an action did, and how to tell that it has arrived on the other side (undefined: nothing was sent). */
interface Done {
  text: string;
  itemType: ItemTypeName;
  user: string;
  arrived?: () => Promise<Arrival | undefined>;
}
interface Arrival {
  ok: boolean;
  text: string;
}
type Scene = { direction: Direction; run: () => Promise<Done> };

const labels: Record<Direction, string> = { exchange_to_db: 'Exchange → app', db_to_exchange: 'app → Exchange' };
/** Rows the application side makes carry this prefix in exh_app_item_id; rows that came from Exchange do not. */
const appPrefix = 'demo-';
const time = () => new Date().toISOString().slice(11, 19);
const tomorrow = (hours = 0) => new Date(Date.now() + 86_400_000 + hours * 3_600_000).toISOString();

export function createDemoActivity(deps: DemoActivityDeps): DemoActivity {
  const { db, admin, log } = deps;
  const [organiser, tasker, mailer] = deps.users;
  const pollMs = deps.arrivalPollMs ?? 250;
  const limitMs = deps.arrivalLimitMs ?? 20_000;
  let stopped = false;
  let busy = false;
  let step = 0;
  let round = 0;
  /** The task the application made this round, for its change and its deletion. */
  let ownTask: { appItemId: string; subject: string } | undefined;

  const maxId = async (table: string) =>
    (await db.query<{ id: number | null }>(`SELECT max(id)::int AS id FROM ${table}`)).rows[0]?.id ?? 0;

  /** Exchange → app: arrived when rows newer than `after` with the value are there for every one of `users`. */
  const inTable =
    (table: string, after: number, column: string, value: string, users: string[]) =>
    async (): Promise<Arrival | undefined> => {
      const found = await db.query<{ exh_user: string }>(
        `SELECT DISTINCT exh_user FROM ${table} WHERE id > $1 AND ${column} = $2`,
        [after, value],
      );
      const have = new Set(found.rows.map((row) => row.exh_user));
      if (!users.every((user) => have.has(user))) return undefined;
      return { ok: true, text: `in the database now: ${table} '${value}' for ${users.join(', ')}` };
    };

  /**
   * App → Exchange: one statement on an application table in a transaction; the outbox row its trigger wrote is the
   * newest one then (nothing else writes the outbox in the demo while the transaction holds the database).
   */
  const change = async (sql: string, params: unknown[]) =>
    db.transaction(async (tx) => {
      const rows = (await tx.query<{ exh_subject: string | null }>(sql, params)).rows;
      if (rows.length === 0) return { subject: undefined, outboxId: undefined };
      const outbox = await tx.query<{ id: number }>('SELECT max(exh_outbox_id)::int AS id FROM exh_outbox');
      return { subject: rows[0]?.exh_subject ?? '', outboxId: outbox.rows[0]?.id };
    });
  const inExchange = (outboxId: number | undefined) => async (): Promise<Arrival | undefined> => {
    const row = (
      await db.query<{ exh_state: string; exh_error_message: string | null }>(
        'SELECT exh_state, exh_error_message FROM exh_outbox WHERE exh_outbox_id = $1',
        [outboxId],
      )
    ).rows[0];
    if (row?.exh_state === 'done') return { ok: true, text: `in Exchange now (outbox row ${outboxId} done)` };
    if (row?.exh_state === 'failed')
      return { ok: false, text: `outbox row ${outboxId} failed: ${row.exh_error_message ?? 'no message'}` };
    return undefined;
  };

  const scenes: Scene[] = [
    {
      direction: 'exchange_to_db',
      run: async () => {
        const after = await maxId('calendar_item');
        const subject = `Planning ${time()}`;
        admin.createItem(organiser, {
          kind: 'CalendarItem',
          Subject: subject,
          Start: tomorrow(),
          End: tomorrow(1),
          RequiredAttendees: [tasker],
        });
        return {
          text: `${organiser} created meeting '${subject}' in Exchange, inviting ${tasker}`,
          itemType: 'calendar',
          user: organiser,
          arrived: inTable('calendar_item', after, 'exh_subject', subject, [organiser, tasker]),
        };
      },
    },
    {
      direction: 'db_to_exchange',
      run: async () => {
        round += 1;
        const task = { appItemId: `${appPrefix}task-${round}`, subject: 'Call supplier' };
        const { outboxId } = await change(
          `INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject, exh_due, exh_percent_complete)
           VALUES ($1, $2, $3, $4, 0) RETURNING exh_subject`,
          [task.appItemId, tasker, task.subject, tomorrow()],
        );
        ownTask = task;
        return {
          text: `created task '${task.subject}' for ${tasker}`,
          itemType: 'task',
          user: tasker,
          arrived: inExchange(outboxId),
        };
      },
    },
    {
      direction: 'exchange_to_db',
      run: async () => {
        const after = await maxId('task_item');
        const subject = 'Review the minutes';
        admin.createItem(tasker, { kind: 'Task', Subject: subject, PercentComplete: 25 });
        return {
          text: `${tasker} created task '${subject}' in Exchange`,
          itemType: 'task',
          user: tasker,
          arrived: inTable('task_item', after, 'exh_subject', subject, [tasker]),
        };
      },
    },
    {
      direction: 'db_to_exchange',
      run: async () => {
        // The newest open task that came from Exchange: a change that needs both directions to have worked.
        const fromExchange = await change(
          // Completed as Outlook does it: the status as well, which Microsoft To Do (Graph) carries and percent is not.
          `UPDATE task_item SET exh_percent_complete = 100, exh_status = 'Completed'
           WHERE id = (SELECT id FROM task_item
                       WHERE exh_user = $1 AND exh_item_id IS NOT NULL AND exh_app_item_id NOT LIKE $2
                         AND coalesce(exh_percent_complete, 0) < 100
                       ORDER BY id DESC LIMIT 1)
           RETURNING exh_subject`,
          [tasker, `${appPrefix}%`],
        );
        if (fromExchange.subject !== undefined) {
          return {
            text: `marked task '${fromExchange.subject}' of ${tasker} (made in Exchange) completed`,
            itemType: 'task',
            user: tasker,
            arrived: inExchange(fromExchange.outboxId),
          };
        }
        // None has arrived yet: the application's own task moves on instead.
        const own = await change(
          `UPDATE task_item SET exh_percent_complete = 50, exh_status = 'InProgress'
           WHERE exh_user = $1 AND exh_app_item_id = $2 RETURNING exh_subject`,
          [tasker, ownTask?.appItemId ?? ''],
        );
        if (own.subject === undefined)
          return { text: `no task of ${tasker} to change`, itemType: 'task', user: tasker };
        return {
          text: `set task '${own.subject}' of ${tasker} in progress, 50% complete`,
          itemType: 'task',
          user: tasker,
          arrived: inExchange(own.outboxId),
        };
      },
    },
    {
      direction: 'exchange_to_db',
      run: async () => {
        const after = await maxId('email_item');
        const subject = `Lunch at ${time().slice(0, 5)}?`;
        admin.createItem(mailer, {
          kind: 'Message',
          send: true,
          Subject: subject,
          Body: 'Noon at the usual place.',
          ToRecipients: [organiser],
        });
        return {
          text: `${mailer} sent e-mail '${subject}' to ${organiser} in Exchange`,
          itemType: 'email',
          user: mailer,
          arrived: inTable('email_item', after, 'exh_subject', subject, [mailer, organiser]),
        };
      },
    },
    {
      direction: 'db_to_exchange',
      run: async () => {
        const task = ownTask;
        ownTask = undefined;
        const { subject, outboxId } = await change(
          'DELETE FROM task_item WHERE exh_user = $1 AND exh_app_item_id = $2 RETURNING exh_subject',
          [tasker, task?.appItemId ?? ''],
        );
        if (subject === undefined) {
          return {
            text: `task '${task?.subject ?? 'Call supplier'}' of ${tasker} is gone already: nothing to delete`,
            itemType: 'task',
            user: tasker,
          };
        }
        return {
          text: `deleted task '${subject}' of ${tasker}`,
          itemType: 'task',
          user: tasker,
          arrived: inExchange(outboxId),
        };
      },
    },
    {
      direction: 'exchange_to_db',
      run: async () => {
        const after = await maxId('contact_item');
        const [given, surname, company] = contacts[(round - 1) % contacts.length] ?? ['Dana', 'Scully', 'FBI'];
        admin.createItem(organiser, { kind: 'Contact', GivenName: given, Surname: surname, CompanyName: company });
        return {
          text: `${organiser} added contact ${given} ${surname} (${company}) in Exchange`,
          itemType: 'contact',
          user: organiser,
          arrived: inTable('contact_item', after, 'exh_surname', surname, [organiser]),
        };
      },
    },
    {
      direction: 'db_to_exchange',
      run: async () => {
        const subject = `Minutes, round ${round}`;
        // A row with a recipient is sent (and kept in Sent Items): docs/database.md, src/items/email.ts.
        const { outboxId } = await change(
          `INSERT INTO email_item (exh_app_item_id, exh_user, exh_subject, exh_body, exh_to)
           VALUES ($1, $2, $3, 'The minutes of this morning.', $4) RETURNING exh_subject`,
          [`${appPrefix}mail-${round}`, organiser, subject, mailer],
        );
        return {
          text: `sent e-mail '${subject}' from ${organiser} to ${mailer}`,
          itemType: 'email',
          user: organiser,
          arrived: inExchange(outboxId),
        };
      },
    },
  ];

  const follow = async (scene: Scene, done: Done) => {
    if (!done.arrived) return;
    const fields = { direction: scene.direction, itemType: done.itemType, user: done.user };
    const label = labels[scene.direction];
    const until = Date.now() + limitMs;
    while (!stopped && Date.now() < until) {
      const arrival = await done.arrived();
      if (stopped) return;
      if (arrival) {
        if (arrival.ok) log.info({ ...fields, arrived: true }, `Demo: ${label}: ${arrival.text}`);
        else log.warn({ ...fields, arrived: false }, `Demo: ${label}: ${arrival.text}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs).unref());
    }
    if (!stopped) {
      log.warn({ ...fields, arrived: false }, `Demo: ${label}: not there after ${limitMs / 1000} s: ${done.text}`);
    }
  };

  return {
    async step() {
      if (stopped || busy) return;
      busy = true;
      const scene = scenes[step++ % scenes.length] as Scene;
      const label = labels[scene.direction];
      try {
        const done = await scene.run();
        if (stopped) return;
        log.info(
          { direction: scene.direction, itemType: done.itemType, user: done.user },
          `Demo: ${label}: ${done.text}`,
        );
        void follow(scene, done).catch((error: unknown) => {
          if (!stopped) log.warn({ err: error }, `Demo: ${label}: looking for the change failed: ${describe(error)}`);
        });
      } catch (error) {
        if (!stopped) log.warn({ err: error }, `Demo: ${label}: the simulated action failed: ${describe(error)}`);
      } finally {
        busy = false;
      }
    },
    stop() {
      stopped = true;
    },
  };
}

const contacts: [string, string, string][] = [
  ['Dana', 'Scully', 'FBI'],
  ['Fox', 'Mulder', 'FBI'],
  ['Walter', 'Skinner', 'FBI'],
];
