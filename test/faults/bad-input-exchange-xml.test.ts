import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { isExhError } from '../../src/errors.js';
import { createEwsExchange, type EwsExchange } from '../../src/exchange/ews/index.js';
import { createLogging } from '../../src/logging/logger.js';
import { ExchangePool } from '../../src/pool/exchange-pool.js';
import type { CallOptions, MailboxConnection } from '../../src/ports/exchange.port.js';
import { testSecret } from '../support/log-scan.js';
import { billionLaughs, ExchangeDouble, externalEntity, type Poison } from './bad-input-exchange-double.js';
import { alice, type BadInputWorld, badInputWorld, measured, memory, report } from './bad-input-world.js';

const pgUrl = process.env.PG_URL;

/**
 * XML from Exchange with a DTD (docs/reliability.md, "Bad input"): the EWS adapter, over the emulator with a test
 * double in front that adds a DOCTYPE to chosen answers (the emulator cannot send one: ExchangeDouble), must refuse
 * each such answer with a coded error, whichever parser reads it — the adapter's own (fast-xml-parser: GetFolder,
 * GetItem, SOAP faults) or ews-javascript-api's (xmldom: SyncFolderItems, Subscribe) — and never expand an entity:
 * no file content anywhere, memory bounded.
 */

const memoryBoundMiB = 200;
const passwdLine = readFileSync('/etc/passwd', 'utf8').split('\n')[0] as string;

describe('XML from Exchange with a DTD: refused with a coded error, never expanded (emulator behind a test double)', () => {
  let emulator: RunningEmulator;
  let double: ExchangeDouble;
  let exchange: EwsExchange;
  let pool: ExchangePool;
  const lines: string[] = [];
  const live = (): CallOptions => ({ signal: new AbortController().signal, priority: 'live' });

  beforeAll(async () => {
    emulator = await startEmulator({
      port: 0,
      mailboxes: [alice],
      password: testSecret('exchange.impersonationPassword'),
    });
    emulator.admin.createItem(alice, { kind: 'Task', Subject: 'read through GetItem' });
    double = new ExchangeDouble(emulator);
    await double.open();
    const config = configSchema.parse({
      database: { type: 'pglite' },
      exchange: {
        staticEwsUrl: double.url(emulator.url),
        impersonationUser: emulator.serviceAccount,
        impersonationPassword: emulator.password,
        timeoutMs: 10_000,
      },
    });
    const { logger } = createLogging({
      level: 'debug',
      format: 'json',
      stdout: { write: (line) => void lines.push(line) },
    });
    pool = new ExchangePool(4);
    exchange = createEwsExchange({ exchange: config.exchange, pool, logger });
  });
  afterAll(async () => {
    exchange?.close();
    await pool?.close();
    await double?.close();
    await emulator?.close();
  });

  const sync = (connection: MailboxConnection) => connection.syncFolder('tasks', null, { ...live(), maxChanges: 100 });
  const subscribe = (connection: MailboxConnection) =>
    connection.subscribe(['tasks'], 'pull', () => {}, live()).then((subscription) => subscription.close());
  const cases: Array<[string, string, string, (connection: MailboxConnection | undefined) => Promise<unknown>]> = [
    ["GetFolder (connecting; the adapter's parser)", 'GetFolder', 'DisplayName', () => exchange.connect(alice, live())],
    [
      "SyncFolderItems (ews-javascript-api's parser)",
      'SyncFolderItems',
      'SyncState',
      (c) => sync(c as MailboxConnection),
    ],
    ["GetItem (the adapter's parser)", 'GetItem', 'Subject', (c) => sync(c as MailboxConnection)],
    [
      "Subscribe (ews-javascript-api's parser)",
      'Subscribe',
      'SubscriptionId',
      (c) => subscribe(c as MailboxConnection),
    ],
  ];
  const kinds: Array<[string, (root: string) => string, string]> = [
    ['billion laughs', billionLaughs, '&lol9;'],
    ['external entity file:///etc/passwd', externalEntity, '&xxe;'],
  ];

  for (const [what, operation, element, call] of cases) {
    for (const [kind, doctype, reference] of kinds) {
      it(`${what}, ${kind}: a coded error`, async () => {
        const connection = operation === 'GetFolder' ? undefined : await exchange.connect(alice, live());
        const poison: Poison = { doctype: doctype('s:Envelope'), reference, element };
        double.poison(operation, poison);
        const before = double.poisoned.get(operation) ?? 0;
        const seen = lines.length;
        try {
          const m = await measured(() =>
            call(connection).then(
              () => undefined,
              (error: unknown) => error,
            ),
          );
          const error = m.result;
          const code = isExhError(error) ? error.code : undefined;
          const message = error instanceof Error ? error.message : String(error);
          report(`XML from Exchange: ${what} with ${kind} → ${code} "${message}"; ${memory(m)}`);
          expect(double.poisoned.get(operation) ?? 0).toBeGreaterThan(before);
          expect(code).toMatch(/^EXH_/);
          expect(message).toMatch(/DTD/);
          const said = [message, ...lines.slice(seen)].join('\n');
          expect(said).not.toContain(passwdLine);
          expect(said).not.toContain('lollollol');
          expect(m.rssMiB).toBeLessThan(memoryBoundMiB);
        } finally {
          double.clear();
        }
        // The same call without the DTD succeeds: the DTD was the only thing wrong.
        await expect(call(connection)).resolves.not.toThrow();
      });
    }
  }
});

describe.skipIf(!pgUrl)(
  'XML from Exchange with a DTD, to a running connector (emulator behind a test double, PostgreSQL)',
  () => {
    let world: BadInputWorld;

    beforeAll(async () => {
      world = await badInputWorld(pgUrl as string, 'badxml', { double: true });
    }, 60_000);
    afterAll(() => world?.close());

    it('a sync answered with an external entity: a coded error in the log, nothing read into the database, and a sync without it afterwards', async () => {
      const double = world.double as ExchangeDouble;
      const seen = world.records.length;
      const subject = `made while Exchange's answers carry a DTD ${Date.now()}`;
      double.poison('SyncFolderItems', {
        doctype: externalEntity('s:Envelope'),
        reference: '&xxe;',
        element: 'SyncState',
      });
      let refusal: Record<string, unknown> | undefined;
      try {
        world.emulator.admin.createItem(alice, { kind: 'Task', Subject: subject });
        refusal = await world.waitFor(() => {
          const found = world.records
            .slice(seen)
            .find((r) => r.user === alice && JSON.stringify(r).includes('a DTD is not allowed in SOAP'));
          if (!found) throw new Error('no record of the refused answer yet');
          return found;
        }, 20_000);
      } finally {
        double.clear();
      }
      report(
        `XML from Exchange, running connector: SyncFolderItems with an external entity → ${refusal?.cat} ${JSON.stringify(refusal?.code ?? (refusal?.error as { code?: string } | undefined)?.code)} "${refusal?.msg}"`,
      );
      const stored = JSON.stringify([
        ...(await world.admin.query(`select * from ${world.schema}.exh_watermark`)).rows,
        ...(await world.admin.query(`select * from ${world.schema}.exh_log`)).rows,
        ...(await world.rows('task_item', alice)),
      ]);
      expect(stored).not.toContain('&xxe;');
      expect(stored).not.toContain(passwdLine);
      expect(
        world.records
          .slice(seen)
          .map((r) => JSON.stringify(r))
          .join('\n'),
      ).not.toContain(passwdLine);
      // Without the DTD the same change comes through: the mailbox backed off and reads it on its next attempt.
      await world.waitFor(async () => {
        expect((await world.rows('task_item', alice)).map((row) => row.exh_subject)).toContain(subject);
      }, 30_000);
    }, 60_000);
  },
);
