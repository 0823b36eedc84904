import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ItemSummary } from '../emulator/index.js';
import { runExh } from './support/exh-process.js';

/** What `npm start` runs: the built bin (npm test builds dist/ before the tests). */
const bin = fileURLToPath(new URL('../bin/exh.js', import.meta.url));

/** Ports the demo would otherwise take (8888, 8080, 9988, 8200): 0 lets the system pick, as a test must. */
const freePorts = {
  EXH_LOG_FORMAT: 'json',
  EXH_LISTENERS_LOG_PORT: '0',
  EXH_DEMO_EMULATOR_PORT: '0',
  EXH_LISTENERS_DATABASE_PORT: '0',
  EXH_LISTENERS_HTTP_PORT: '0',
};

const taken: Server[] = [];
afterEach(async () => {
  for (const server of taken.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function takePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  taken.push(server);
  return (server.address() as { port: number }).port;
}

/** The README's first command: `npm start` runs `node bin/exh.js demo`; the tests run `exh demo` from the sources. */
describe('the demo (exh demo, npm start)', () => {
  it('carries changes made in the emulator into the embedded database, prints real ports, and stops on SIGINT', async () => {
    const demo = runExh(['demo'], { ...freePorts, EXH_DEMO_INTERVAL_MS: '500' });
    try {
      const dashboard = await demo.waitForRecord((r) => r.msg.startsWith('Demo: dashboard at'), 30_000);
      const url = /http:\/\/localhost:(\d+)\//.exec(dashboard.msg);
      expect(Number(url?.[1])).toBeGreaterThan(0);
      // An item made in a mailbox is found in the application's table, for every user it went to.
      const arrived = await demo.waitForRecord((r) => r.direction === 'exchange_to_db' && r.arrived === true, 30_000);
      expect(arrived.msg).toMatch(/^Demo: Exchange → app: in the database now: \w+_item '.+' for \S+@contoso\.test/);
      // The port printed is the one the dashboard listens on.
      const health = await fetch(`http://127.0.0.1:${url?.[1]}/healthz`);
      expect(health.status).toBe(200);
      demo.child.kill('SIGINT');
      expect((await demo.exited).code).toBe(0);
      const messages = demo.records.map((r) => r.msg);
      expect(messages.some((m) => m.startsWith('SIGINT received: the demo is stopping'))).toBe(true);
      // The last line says that everything has stopped.
      expect(messages.at(-1)).toBe('Stopped.');
    } finally {
      demo.child.kill('SIGKILL');
    }
  }, 60_000);

  it.each([
    ['EWS', []],
    ['Microsoft Graph (--graph)', ['--graph']],
  ])(
    'acts on both sides by turns over %s: rows of the application reach the mailboxes, items made in Exchange the tables',
    async (_backend, flags) => {
      const demo = runExh(['demo', ...flags], { ...freePorts, EXH_DEMO_INTERVAL_MS: '400' });
      try {
        const emulatorLine = await demo.waitForRecord((r) => r.msg.startsWith('Demo: Exchange emulator'), 30_000);
        const emulatorBase = /(http:\/\/127\.0\.0\.1:\d+)\/(EWS|graph)\//.exec(emulatorLine.msg)?.[1];
        expect(emulatorBase).toBeDefined();
        const dashboardLine = await demo.waitForRecord((r) => r.msg.startsWith('Demo: dashboard at'), 30_000);
        const dashboard = `http://127.0.0.1:${/localhost:(\d+)\//.exec(dashboardLine.msg)?.[1]}`;
        // The line comes before the connector's listener is up.
        await demo.waitForRecord((r) => r.event === 'http.listening', 30_000);
        // What a person sees in the mailboxes, through the emulator's admin API (docs/emulator.md; service account).
        const itemsOf = async (user: string, folder: string): Promise<ItemSummary[]> => {
          const reply = await fetch(`${emulatorBase}/emulator/admin/mailboxes/${user}/items?folder=${folder}`, {
            headers: { authorization: `Basic ${Buffer.from('exh-service@contoso.test:exh').toString('base64')}` },
          });
          expect(reply.status).toBe(200);
          return (await reply.json()) as ItemSummary[];
        };
        const carries = (item: ItemSummary, appItemId: string) =>
          item.extendedProperties.some((property) => property.value === appItemId);
        const eventually = (check: () => Promise<void>) => vi.waitFor(check, { timeout: 20_000, interval: 200 });

        // The browser's own request for the icon is answered with an image.
        const icon = await fetch(`${dashboard}/favicon.ico`);
        expect(icon.status).toBe(200);
        expect(icon.headers.get('content-type')).toMatch(/^image\//);

        // app → Exchange, add: the e-mail the application wrote as a row is sent; the demo never makes it in Exchange.
        await eventually(async () => {
          const inbox = await itemsOf('carol@contoso.test', 'inbox');
          expect(inbox.map((item) => item.properties.Subject)).toContain('Minutes, round 1');
          const sent = await itemsOf('alice@contoso.test', 'sentitems');
          expect(sent.some((item) => carries(item, 'demo-mail-1'))).toBe(true);
        });
        // Exchange → app → Exchange, change: a task made in bob's mailbox reached the table, where the application
        // marked it complete, and that came back to the mailbox.
        await eventually(async () => {
          const done = (await itemsOf('bob@contoso.test', 'tasks')).filter(
            (item) => item.properties.Subject === 'Review the minutes' && item.properties.Status === 'Completed',
          );
          expect(done.length).toBeGreaterThan(0);
        });
        // app → Exchange, delete: the application's own task was created in Exchange and is gone again.
        const created = await demo.waitForRecord((r) => r.appItemId === 'demo-task-1' && typeof r.itemId === 'string');
        await eventually(async () => {
          const ids = (await itemsOf('bob@contoso.test', 'tasks')).map((item) => item.id);
          expect(ids).not.toContain(created.itemId);
        });
        // Exchange → app: each kind of item made in a mailbox is reported in the tables.
        await eventually(async () => {
          const arrived = demo.records.filter((r) => r.direction === 'exchange_to_db' && r.arrived === true);
          expect(new Set(arrived.map((r) => r.itemType))).toEqual(new Set(['calendar', 'task', 'email', 'contact']));
        });

        // One line per action, saying the direction, by turns (arrival lines carry `arrived`).
        const actions = demo.records.filter((r) => typeof r.direction === 'string' && r.arrived === undefined);
        expect(actions.length).toBeGreaterThanOrEqual(8);
        for (const [index, action] of actions.entries()) {
          const direction = index % 2 === 0 ? 'exchange_to_db' : 'db_to_exchange';
          expect(action.direction, action.msg).toBe(direction);
          expect(action.msg).toMatch(
            direction === 'exchange_to_db' ? /^Demo: Exchange → app: / : /^Demo: app → Exchange: /,
          );
        }
        expect(actions.slice(0, 8).map((r) => r.msg.replace(/\d\d:\d\d(:\d\d)?/g, 'hh:mm'))).toEqual([
          "Demo: Exchange → app: alice@contoso.test created meeting 'Planning hh:mm' in Exchange, inviting bob@contoso.test",
          "Demo: app → Exchange: created task 'Call supplier' for bob@contoso.test",
          "Demo: Exchange → app: bob@contoso.test created task 'Review the minutes' in Exchange",
          expect.stringMatching(
            /^Demo: app → Exchange: (marked task 'Review the minutes' of bob@contoso\.test \(made in Exchange\) completed|set task 'Call supplier' of bob@contoso\.test in progress, 50% complete)$/,
          ),
          "Demo: Exchange → app: carol@contoso.test sent e-mail 'Lunch at hh:mm?' to alice@contoso.test in Exchange",
          "Demo: app → Exchange: deleted task 'Call supplier' of bob@contoso.test",
          'Demo: Exchange → app: alice@contoso.test added contact Dana Scully (FBI) in Exchange',
          "Demo: app → Exchange: sent e-mail 'Minutes, round 1' from alice@contoso.test to carol@contoso.test",
        ]);
        // The dashboard's overview counts items of both directions in the last minute.
        const status = (await (await fetch(`${dashboard}/api/status`)).json()) as {
          items: { perMinute: { direction: string; count: number }[] };
        };
        expect(new Set(status.items.perMinute.map((row) => row.direction))).toEqual(
          new Set(['exchange_to_db', 'db_to_exchange']),
        );
        expect(demo.records.filter((r) => r.cat === 'W' || r.cat === 'E').map((r) => r.msg)).toEqual([]);

        demo.child.kill('SIGINT');
        expect((await demo.exited).code).toBe(0);
        expect(demo.records.at(-1)?.msg).toBe('Stopped.');
      } finally {
        demo.child.kill('SIGKILL');
      }
    },
    60_000,
  );

  it('makes no simulated changes with EXH_DEMO_INTERVAL_MS=0', async () => {
    const demo = runExh(['demo'], { ...freePorts, EXH_DEMO_INTERVAL_MS: '0' });
    try {
      await demo.waitForRecord((r) => r.msg.startsWith('Demo: simulated user activity is off'), 30_000);
      // Three mailboxes live: time enough for an interval of 0 (before: an item every millisecond) to make thousands.
      const live = () => demo.records.filter((r) => r.event === 'mailbox.live').length;
      await demo.waitForRecord(() => live() >= 3, 30_000);
      expect(demo.records.filter((r) => /^Demo: (Exchange → app|app → Exchange): /.test(r.msg))).toEqual([]);
      demo.child.kill('SIGTERM');
      expect((await demo.exited).code).toBe(0);
    } finally {
      demo.child.kill('SIGKILL');
    }
  });

  it('names EXH_DEMO_EMULATOR_PORT when the emulator port is taken (npm start)', async () => {
    const port = await takePort();
    const demo = spawn(process.execPath, [bin, 'demo'], {
      env: { ...process.env, ...freePorts, EXH_DEMO_EMULATOR_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    demo.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => demo.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`Exchange emulator port 127.0.0.1:${port} is taken by another program`);
    expect(stderr).toContain('set EXH_DEMO_EMULATOR_PORT to a free port');
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it('names EXH_LISTENERS_HTTP_PORT when the dashboard port is taken (exh demo)', async () => {
    const port = await takePort();
    const demo = runExh(['demo'], { ...freePorts, EXH_LISTENERS_HTTP_PORT: String(port) });
    expect((await demo.exited).code).toBe(1);
    expect(demo.stderr()).toContain(`dashboard port 127.0.0.1:${port} is taken by another program`);
    expect(demo.stderr()).toContain('set EXH_LISTENERS_HTTP_PORT to a free port');
  });

  it('refuses a port or an interval it cannot use before starting anything, naming the variable (exit 2)', async () => {
    const port = runExh(['demo'], { ...freePorts, EXH_LISTENERS_LOG_PORT: 'telnet' });
    expect((await port.exited).code).toBe(2);
    expect(port.stderr()).toContain('EXH_LISTENERS_LOG_PORT=telnet is not a port: set it to a number 0–65535');
    const interval = runExh(['demo'], { ...freePorts, EXH_DEMO_INTERVAL_MS: '50' });
    expect((await interval.exited).code).toBe(2);
    expect(interval.stderr()).toContain('EXH_DEMO_INTERVAL_MS=50: expected milliseconds of 100 or more, or 0 / off');
    expect(interval.records).toEqual([]);
  });
});
