import { assign, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import { databaseMachine } from '../../machines/database.machine.js';
import type { ConnectOutput } from '../../machines/mailbox.machine.js';
import { mailboxMachine } from '../../machines/mailbox.machine.js';
import { mailboxesMachine } from '../../machines/mailboxes.machine.js';
import type { Report } from '../../machines/report.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import type { UserRegistration } from '../../src/ports/database.port.js';
import { folderNames } from '../../src/ports/item-properties.js';

export const minutes = (n: number) => n * 60_000;

export function registration(user: string): UserRegistration {
  return {
    user,
    watermarks: { calendar: null, contact: null, email: null, task: null },
    sync: { calendar: true, contact: false, email: true, task: false },
  };
}

/**
 * A supervisor wired to a scripted database (a test double: the real PostgreSQL runs in test/e2e) and to mailbox
 * sessions that record their lifetime, on xstate's SimulatedClock so that five minutes pass without waiting.
 */
export function scriptedSupervisor(options: { users: UserRegistration[]; crashingUsers?: Set<string> }) {
  const clock = new SimulatedClock();
  const reports: Report[] = [];
  const db = { reachable: false, probeFails: false, probeHangs: false, connects: 0, closes: 0, shutdowns: 0 };
  const sessions = { started: [] as string[], stopped: [] as string[] };
  const lost = () =>
    Object.assign(new Error('connection refused'), { code: 'EXH_DB_CONNECTION_LOST', retryable: true });
  const machine = supervisorMachine.provide({
    actions: { report: (_, params) => void reports.push(params) },
    actors: {
      database: databaseMachine.provide({
        actions: { report: (_, params) => void reports.push(params) },
        actors: {
          connect: fromPromise(async () => {
            db.connects += 1;
            if (!db.reachable) {
              throw Object.assign(new Error('Cannot connect to the database at 127.0.0.1:5432: ECONNREFUSED'), {
                code: 'EXH_DB_UNREACHABLE',
                retryable: true,
              });
            }
          }),
          probe: fromPromise(async () => {
            if (db.probeFails) throw lost();
            if (db.probeHangs) await new Promise(() => {});
          }),
          disconnect: fromPromise<void>(async () => {
            db.closes += 1;
          }),
        },
      }),
      mailboxes: mailboxesMachine.provide({
        actions: { report: (_, params) => void reports.push(params) },
        actors: {
          mailbox: mailboxMachine.provide({
            actions: { report: (_, params) => void reports.push(params), drawJitter: assign({ jitter: 0.5 }) },
            actors: {
              connect: fromPromise<ConnectOutput, { user: string }>(async () => ({
                endpoint: 'https://mail.contoso.test/EWS/Exchange.asmx',
                folders: folderNames,
              })),
              // The mailbox's lifetime is its subscription's: started when connected, cleaned up when stopped.
              subscription: fromCallback(({ input }) => {
                const { user } = input as { user: string };
                sessions.started.push(user);
                if (options.crashingUsers?.has(user)) throw new Error(`session of ${user} crashed`);
                return () => void sessions.stopped.push(user);
              }),
            },
          }),
        },
      }),
      startUp: fromPromise(async () => {
        if (!db.reachable) throw lost();
        return [...options.users];
      }),
      readUsers: fromPromise(async () => [...options.users]),
      logFeed: fromCallback(() => () => {}),
      shutdown: fromPromise<void>(async () => {
        // Runs after the mailboxes are gone: stopping them first is what `rest_for_one` order means.
        db.shutdowns += sessions.stopped.length === sessions.started.length ? 1 : 100;
      }),
    },
  });
  return { machine, clock, reports, db, sessions };
}
