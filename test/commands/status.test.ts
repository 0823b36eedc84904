import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatCluster, formatStatus } from '../../src/commands/status.js';
import type { MachineState, MailboxStatus, Status } from '../../src/http/status.js';
import { exhOutput } from '../support/exh-process.js';

const machine = (actor: string, paths: string[]): MachineState => ({
  actor,
  machine: actor,
  paths,
  state: (paths.at(-1) ?? 'unknown').split('.').at(-1) ?? 'unknown',
});

function mailbox(user: string, state: string, extra: Partial<MailboxStatus> = {}): MailboxStatus {
  return {
    user,
    state,
    machine: machine('mailbox', [state]),
    endpoint: null,
    lastError: null,
    attempt: 0,
    catchUp: { done: 0, total: 2 },
    children: [],
    ...extra,
  };
}

const status: Status = {
  version: '9.9.9',
  startedAt: '2026-03-01T08:00:00.000Z',
  service: machine('supervisor', ['running']),
  machines: [],
  database: {
    ...machine('database', ['connecting', 'connecting.waiting']),
    ready: false,
    target: 'postgres://db:5432/app',
    lastError: { code: 'EXH_DB_CONNECTION_REFUSED', message: 'db:5432 refused the connection' },
  },
  pool: { concurrency: 8, running: 2, queued: 5 },
  mailboxes: {
    total: 2,
    live: 1,
    byState: { live: 1, backingOff: 1 },
    list: [
      mailbox('al@x.test', 'live', {
        catchUp: { done: 2, total: 2 },
        children: [
          { ...machine('itemType:calendar', ['idle']), itemType: 'calendar', lastError: null },
          { ...machine('itemType:task', ['syncing']), itemType: 'task', lastError: null },
        ],
      }),
      mailbox('barbara@x.test', 'backingOff', {
        catchUp: { done: 1, total: 2 },
        lastError: { code: 'EXH_EXCHANGE_THROTTLED', message: 'Exchange is busy' },
      }),
    ],
  },
  items: { perMinute: [{ itemType: 'task', direction: 'exchange_to_db', count: 3 }] },
  recentErrors: [1, 2, 3, 4, 5, 6].map((n) => ({
    at: `2026-03-01T08:0${n}:00.000Z`,
    category: 'W' as const,
    code: n === 6 ? 'EXH_EXCHANGE_THROTTLED' : null,
    message: `warning ${n}`,
    ...(n === 6 ? { user: 'barbara@x.test' } : {}),
  })),
  inspect: false,
};

describe('formatStatus', () => {
  it('says one fact a line: the database with its last error, the pool, mailboxes by state, the last minute', () => {
    const lines = formatStatus(status, 'http://127.0.0.1:8080').split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'exh 9.9.9 at http://127.0.0.1:8080, running since 2026-03-01T08:00:00.000Z',
      'database   connecting.waiting (postgres://db:5432/app) — db:5432 refused the connection',
      'exchange   2 running, 5 waiting (concurrency 8)',
      'mailboxes  1 of 2 live (1 live, 1 backingOff)',
      'last min   3 task exchange_to_db',
    ]);
  });

  it('gives each mailbox a line, addresses padded to one column, with its types and its last error', () => {
    const lines = formatStatus(status, 'http://127.0.0.1:8080').split('\n');
    expect(lines.slice(5, 7)).toEqual([
      '  al@x.test       live        2/2 caught up  calendar:idle task:syncing',
      '  barbara@x.test  backingOff  1/2 caught up    EXH_EXCHANGE_THROTTLED: Exchange is busy',
    ]);
  });

  it('ends with the last five recent errors only, and says so when no item went anywhere', () => {
    const text = formatStatus(status, 'http://127.0.0.1:8080');
    const errorsPart = text.slice(text.indexOf('recent errors:\n'));
    expect(errorsPart.split('\n').slice(1, -1)).toEqual([
      '  2026-03-01T08:02:00.000Z W  warning 2',
      '  2026-03-01T08:03:00.000Z W  warning 3',
      '  2026-03-01T08:04:00.000Z W  warning 4',
      '  2026-03-01T08:05:00.000Z W  warning 5',
      '  2026-03-01T08:06:00.000Z W EXH_EXCHANGE_THROTTLED barbara@x.test: warning 6',
    ]);
    const quiet = formatStatus(
      { ...status, items: { perMinute: [] }, recentErrors: [], mailboxes: { ...status.mailboxes, byState: {} } },
      'u',
    );
    expect(quiet).toContain('last min   no items synchronised\n');
    expect(quiet).toContain('mailboxes  1 of 2 live\n');
    expect(quiet).not.toContain('recent errors');
  });
});

describe('formatCluster', () => {
  it('says single instance without a cluster, and why the cluster could not be read', () => {
    expect(formatCluster({ clustered: false, message: 'single instance: …' })).toEqual(['cluster    single instance']);
    expect(formatCluster({ error: 'Lost the connection to the database' })).toEqual([
      'cluster    could not be read: Lost the connection to the database',
    ]);
  });

  it('gives each member a line, this one marked, then each mailbox with the instance that runs it', () => {
    const lines = formatCluster({
      clustered: true,
      instanceId: 'exh-b',
      coordinator: 'exh-a',
      leaseSeconds: 20,
      heartbeatSeconds: 5,
      members: [
        {
          instanceId: 'exh-a',
          address: '10.0.0.1',
          port: 8000,
          startedAt: '2026-03-01T08:00:00.000Z',
          heartbeatAt: '2026-03-01T09:00:00.000Z',
          live: true,
          self: false,
          mailboxes: 1,
        },
        {
          instanceId: 'exh-b',
          address: '10.0.0.22',
          port: 8000,
          startedAt: '2026-03-01T08:00:01.000Z',
          heartbeatAt: '2026-03-01T08:30:00.000Z',
          live: false,
          self: true,
          mailboxes: 2,
        },
      ],
      leases: [
        { user: 'al@x.test', instanceId: 'exh-b', fence: '3', expiresAt: '2026-03-01T09:00:20.000Z' },
        { user: 'barbara@x.test', instanceId: 'exh-a', fence: '12', expiresAt: '2026-03-01T09:00:19.000Z' },
      ],
      unowned: ['cy@x.test'],
    });
    expect(lines).toEqual([
      'cluster    1 of 2 members live; this is exh-b, commands without a user on exh-a (lease 20 s, heartbeat 5 s)',
      '  exh-a  10.0.0.1:8000   live      1 mailbox  started 2026-03-01T08:00:00.000Z  heartbeat 2026-03-01T09:00:00.000Z',
      '  exh-b  10.0.0.22:8000  not live  2 mailboxes  started 2026-03-01T08:00:01.000Z  heartbeat 2026-03-01T08:30:00.000Z  (this instance)',
      'owners',
      '  al@x.test       exh-b  fence 3  until 2026-03-01T09:00:20.000Z',
      '  barbara@x.test  exh-a  fence 12  until 2026-03-01T09:00:19.000Z',
      '  cy@x.test       none (no lease yet)',
    ]);
  });

  it('comes after the mailboxes and before the recent errors in the summary', () => {
    const text = formatStatus(status, 'u', { clustered: false, message: 'single instance: …' });
    expect(text.indexOf('cluster    single instance')).toBeGreaterThan(text.indexOf('barbara@x.test  backingOff'));
    expect(text.indexOf('cluster    single instance')).toBeLessThan(text.indexOf('recent errors:'));
    expect(formatStatus(status, 'u')).not.toContain('cluster');
  });
});

describe('exh status', () => {
  it('exh status says how to reach an instance when none answers', async () => {
    const { code, stderr } = await exhOutput(['status', '--url', 'http://127.0.0.1:9']);
    expect(code).toBe(1);
    expect(stderr).toContain('No running connector answers at http://127.0.0.1:9');
    expect(stderr).toContain('--url');
  });

  const configFile = (http: Record<string, unknown>) => {
    const file = join(mkdtempSync(join(tmpdir(), 'exh-status-')), 'exh.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        database: { type: 'pglite' },
        exchange: { impersonationUser: 'svc@x.test', impersonationPassword: 'pw' },
        listeners: { http },
      }),
    );
    return file;
  };

  it("asks the instance of --config's listeners.http, on loopback when it listens on every interface", async () => {
    const any = await exhOutput(['status', '--config', configFile({ host: '0.0.0.0', port: 9 })]);
    expect(any.code).toBe(1);
    expect(any.stderr).toContain('No running connector answers at http://127.0.0.1:9');
    const ipv6 = await exhOutput(['status', '--config', configFile({ host: '::1', port: 9 })]);
    expect(ipv6.stderr).toContain('No running connector answers at http://[::1]:9');
  });

  it('exits 2 when the configuration has no HTTP listener, or is not valid', async () => {
    const off = await exhOutput(['status', '--config', configFile({ enabled: false })]);
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('listeners.http.enabled is false');
    const invalid = await exhOutput(['status', '--config', configFile({ port: 'eighty' })]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('listeners.http.port');
  });
});
