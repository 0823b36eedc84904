import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../emulator/index.js';
import { createPgliteDatabase } from '../../src/db/adapters/pglite.js';
import { installInto } from '../../src/db/commands.js';
import { testConfig } from '../support/config.js';
import { runExh } from '../support/exh-process.js';
import { allLive, type RunningConnector, startConnector } from './connector.js';

const alice = 'alice@contoso.test';

interface InspectEvent {
  type: string;
  sessionId: string;
  name?: string;
  definition?: string;
  snapshot?: { value?: unknown };
  _version: string;
}

/** exh start --inspect: xstate's inspection events in the @statelyai/inspect format, over SSE. */
describe('inspection stream (--inspect)', () => {
  let connector: RunningConnector;

  beforeAll(async () => {
    connector = await startConnector({ adminToken: 'inspect-admin-token-123' }, { inspect: true });
    await allLive(connector);
  }, 60_000);

  afterAll(async () => {
    await connector?.stop();
  });

  it('first describes every running actor, then streams events and snapshots as they happen', async () => {
    const controller = new AbortController();
    const response = await fetch(`${connector.url}/api/inspect`, { signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const events: InspectEvent[] = [];
    let buffer = '';
    let asked = false;
    while (!events.some((event) => event.type === '@xstate.snapshot')) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += new TextDecoder().decode(value);
      const blocks = buffer.split('\n\n');
      buffer = blocks.pop() ?? '';
      for (const block of blocks) {
        const data = block.split('\n').find((line) => line.startsWith('data: '));
        if (data) events.push(JSON.parse(data.slice(6)));
      }
      // Once the running actors are described, make something happen.
      if (!asked && events.some((event) => event.name === 'itemType:calendar')) {
        asked = true;
        connector.runtime.control.syncUsers();
      }
    }
    controller.abort();
    const actors = events.filter((event) => event.type === '@xstate.actor');
    expect(actors.map((event) => event.name)).toEqual(
      expect.arrayContaining(['database', 'mailboxes', 'mailbox:alice@contoso.test', 'itemType:calendar']),
    );
    const mailbox = actors.find((event) => event.name === 'mailbox:alice@contoso.test');
    expect(mailbox?._version).toBe('1.0.0');
    expect(JSON.parse(mailbox?.definition ?? '{}')).toMatchObject({ id: 'mailbox' });
    expect(mailbox?.snapshot?.value).toEqual({ connected: 'live' });
    expect(events.some((event) => event.type === '@xstate.event')).toBe(true);
    expect(events.find((event) => event.type === '@xstate.snapshot')?.sessionId).toEqual(expect.any(String));
  });
});

/** The same through the command line: `exh start --inspect` as a real process over a PGlite data directory. */
describe('exh start --inspect', () => {
  it('serves the inspection stream of the running process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'exh-inspect-'));
    const emulator = await startEmulator({ port: 0, mailboxes: [alice] });
    const db = createPgliteDatabase({ dataDir: join(dir, 'db') });
    await db.connect();
    await installInto(db, { exampleApp: true });
    await db.runScript(`INSERT INTO app_user (exh_user) VALUES ('${alice}');`);
    await db.close();
    const configFile = join(dir, 'exh.config.json');
    await writeFile(
      configFile,
      JSON.stringify(
        testConfig(
          emulator,
          { type: 'pglite', dataDir: join(dir, 'db') },
          { listeners: { http: { enabled: true, port: 0 } }, log: { format: 'json' } },
        ),
      ),
    );
    const exh = runExh(['start', '--inspect', '--config', configFile]);
    try {
      const listening = await exh.waitForRecord((record) => record.event === 'http.listening', 30_000);
      await exh.waitForRecord((record) => record.event === 'mailbox.live', 30_000);
      const controller = new AbortController();
      const response = await fetch(`http://127.0.0.1:${listening.port}/api/inspect`, { signal: controller.signal });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let text = '';
      while (!text.includes(`"name":"mailbox:${alice}"`)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      controller.abort();
      expect(text).toContain('event: inspect');
      expect(text).toContain(`"name":"mailbox:${alice}"`);
      exh.child.kill('SIGINT');
      expect((await exh.exited).code).toBe(0);
    } finally {
      exh.child.kill('SIGKILL');
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
