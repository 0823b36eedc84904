import type { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { instrumentDatabase } from '../../src/metrics/instrument-database.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { isOutboxItem } from '../../src/ports/database.port.js';
import { type ExampleDatabase, useExampleDatabase } from '../support/example-database.js';

const alice = 'alice@contoso.test';

/** The DatabasePort decorator, over a real PGlite database with the base project and the example application. */
describe('instrumentDatabase', () => {
  let instance: PGlite;
  let raw: ExampleDatabase['db'];
  useExampleDatabase([alice], (database) => {
    ({ instance, db: raw } = database);
  });

  const scrape = async (metrics: Metrics) => (await metrics.scrape()).body;

  it('times every database call and counts an outbox row completed with exit code 0 as db_to_exchange', async () => {
    const metrics = new Metrics();
    const db = instrumentDatabase(raw, metrics);
    await instance.exec(
      `INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('app-1', '${alice}', 'Write the report')`,
    );
    const rows = (await db.readOutbox(10)).filter(isOutboxItem);
    expect(rows).toEqual([expect.objectContaining({ user: alice, itemType: 'task', action: 'add' })]);
    await db.completeOutbox(rows[0]?.id as string, { exitCode: 0, outputValue: 'AAMk-1', errorMessage: null });
    const text = await scrape(metrics);
    expect(text).toContain('exh_items_synchronised_total{item_type="task",direction="db_to_exchange",action="add"} 1');
    expect(text).toMatch(/exh_database_call_duration_seconds_count\{operation="readOutbox",outcome="ok"\} 1/);
    expect(text).toMatch(/exh_database_call_duration_seconds_count\{operation="completeOutbox",outcome="ok"\} 1/);
    expect(metrics.itemsPerMinute()).toEqual([{ itemType: 'task', direction: 'db_to_exchange', count: 1 }]);
  });

  it('counts a failed call as an error outcome and passes the error on unchanged', async () => {
    const metrics = new Metrics();
    const db = instrumentDatabase(raw, metrics);
    // No item type "fax": its procedures do not exist, so the adapter refuses the batch.
    const batch = {
      user: alice,
      itemType: 'fax' as never,
      changes: [{ action: 'add' as const, fields: {} }],
      watermark: '{}',
    };
    const direct = await raw.applyChanges(batch).catch((error: unknown) => error);
    const through = await db.applyChanges(batch).catch((error: unknown) => error);
    expect(through).toBeInstanceOf(Error);
    expect((through as { code?: unknown }).code).toBe((direct as { code?: unknown }).code);
    const text = await scrape(metrics);
    expect(text).toContain('exh_database_call_duration_seconds_count{operation="applyChanges",outcome="error"} 1');
    expect(text).not.toContain('direction="exchange_to_db"');
  });

  it('counts neither an outbox row that failed nor a command row, and a committed batch as exchange_to_db per action', async () => {
    const metrics = new Metrics();
    const db = instrumentDatabase(raw, metrics);
    await instance.exec(
      `INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('app-2', '${alice}', 'Refused task')`,
    );
    await instance.exec('SELECT * FROM exh_sync_users()');
    const rows = await db.readOutbox(10);
    const item = rows.find((row) => isOutboxItem(row) && row.fields.app_item_id === 'app-2');
    const command = rows.find((row) => row.action === 'sync_users');
    expect(item && command).toBeTruthy();
    await db.completeOutbox(item?.id as string, { exitCode: 1, outputValue: null, errorMessage: 'refused' });
    await db.completeOutbox(command?.id as string, { exitCode: 0, outputValue: null, errorMessage: null });
    await db.applyChanges({
      user: alice,
      itemType: 'task',
      changes: [
        { action: 'add', fields: { item_id: 'AAMk-a', subject: 'From Exchange' } },
        { action: 'add', fields: { item_id: 'AAMk-b', subject: 'Also from Exchange' } },
        { action: 'del', fields: { item_id: 'AAMk-a' } },
      ],
      watermark: 'w-1',
    });
    const text = await scrape(metrics);
    expect(text).not.toContain('direction="db_to_exchange"');
    expect(text).toContain('exh_items_synchronised_total{item_type="task",direction="exchange_to_db",action="add"} 2');
    expect(text).toContain('exh_items_synchronised_total{item_type="task",direction="exchange_to_db",action="del"} 1');
    expect(metrics.itemsPerMinute()).toEqual([{ itemType: 'task', direction: 'exchange_to_db', count: 3 }]);
  });
});
