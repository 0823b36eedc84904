import { describe, expect, it } from 'vitest';
import { createLogging } from '../../../src/logging/logger.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { type ConflictRecord, conflictCode, recordConflict } from '../../../src/sync/executors/record-conflict.js';
import { type ExampleDatabase, useExampleDatabase } from '../../support/example-database.js';

const alice = 'alice@contoso.test';

/** A logger whose JSON records the test reads, its hub observed by real metrics as the runtime wires them. */
function observedLogging() {
  const records: Array<Record<string, unknown>> = [];
  const { logger, hub } = createLogging({
    format: 'json',
    stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
  });
  const metrics = new Metrics();
  metrics.observeLog(hub);
  return { logger, records, metrics };
}

/** recordConflict: a decided conflict in exh_log and as a W record that exh_conflicts_total counts. */
describe('recordConflict', () => {
  let database: ExampleDatabase;
  useExampleDatabase([alice], (ready) => {
    database = ready;
  });
  const exhLog = async () =>
    (
      await database.instance.query<Record<string, unknown>>(
        'SELECT exh_user, exh_item_type, exh_code, exh_message FROM exh_log ORDER BY exh_log_id',
      )
    ).rows;

  it('writes one exh_log row naming the item and the winner, and one W record the metrics count', async () => {
    await database.instance.exec('DELETE FROM exh_log');
    const { logger, records, metrics } = observedLogging();
    const conflict: ConflictRecord = {
      user: alice,
      itemType: 'task',
      itemId: 'AAMkTask1',
      winner: 'exchange',
      by: 'rule',
      rule: 'exchange-wins',
    };
    await recordConflict({ db: database.db, logger }, conflict);

    const rows = await exhLog();
    expect(rows).toEqual([
      {
        exh_user: alice,
        exh_item_type: 'task',
        exh_code: conflictCode,
        exh_message:
          'task AAMkTask1 was changed in Exchange and in the application between two synchronisations: ' +
          'Exchange won (sync.conflicts is exchange-wins); the change made in the application was not applied.',
      },
    ]);
    expect(records).toEqual([
      expect.objectContaining({
        cat: 'W',
        actor: 'conflicts',
        user: alice,
        itemType: 'task',
        code: 'EXH_SYNC_CONFLICT',
        itemId: 'AAMkTask1',
        conflict: { itemType: 'task', winner: 'exchange', by: 'rule' },
        msg: `Conflict: ${rows[0]?.exh_message}`,
      }),
    ]);
    expect((await metrics.scrape()).body).toContain('exh_conflicts_total{item_type="task",winner="exchange"} 1');
  });

  it('says a deletion won whatever the rule, and names the application as winner when it won', async () => {
    await database.instance.exec('DELETE FROM exh_log');
    const { logger, metrics } = observedLogging();
    await recordConflict(
      { db: database.db, logger },
      { user: alice, itemType: 'contact', itemId: 'AAMkC', winner: 'database', by: 'deletion', rule: 'exchange-wins' },
    );
    const [row] = await exhLog();
    expect(row?.exh_message).toBe(
      'contact AAMkC was changed in Exchange and in the application between two synchronisations: ' +
        'the application won (a deletion wins under every rule); the change made in Exchange was not applied.',
    );
    expect((await metrics.scrape()).body).toContain('exh_conflicts_total{item_type="contact",winner="database"} 1');
  });

  it('never writes a value of the item: only its type, id and the winner reach the log', async () => {
    const { logger, records } = observedLogging();
    const conflict = {
      user: alice,
      itemType: 'email' as const,
      itemId: 'AAMkE',
      winner: 'database' as const,
      by: 'rule' as const,
      rule: 'database-wins' as const,
      // What a careless caller might hand over with the decision: it must not be written.
      subject: 'Salary review for Alice',
    };
    await recordConflict({ db: database.db, logger }, conflict);
    expect(JSON.stringify(records)).not.toContain('Salary');
    expect(JSON.stringify(await exhLog())).not.toContain('Salary');
  });
});
