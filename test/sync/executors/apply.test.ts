import type { PGlite } from '@electric-sql/pglite';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase } from '../../../src/db/adapters/pglite.js';
import { calendar } from '../../../src/items/calendar.js';
import type { ItemChange } from '../../../src/ports/database.port.js';
import { mapItem } from '../../../src/sync/decisions/map-item.js';
import { applyPage } from '../../../src/sync/executors/apply.js';
import { type ExampleDatabase, useExampleDatabase } from '../../support/example-database.js';

/** The real example application on an in-memory PGlite: the poison is a row the application's own table refuses. */
let instance: PGlite;
let db: ExampleDatabase['db'];
useExampleDatabase([], (database) => {
  ({ instance, db } = database);
});

beforeAll(async () => {
  await instance.exec(`
    CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.exh_subject = 'poison' THEN RAISE EXCEPTION 'calendar_item refuses subject %', NEW.exh_subject; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON calendar_item FOR EACH ROW EXECUTE FUNCTION refuse_poison();
  `);
});

const user = 'alice@contoso.test';
const add = (id: string, subject: string): ItemChange => ({
  action: 'add',
  fields: mapItem(
    calendar,
    { id, changeKey: 'c', itemClass: 'IPM.Appointment', properties: { subject } },
    {
      user,
      folder: 'calendar',
      maxBodyLength: 0,
    },
  ).fields,
});

describe('applyPage', () => {
  it('applies a page and its watermark together', async () => {
    const outcome = await applyPage(db, {
      user,
      itemType: 'calendar',
      changes: [add('A1=', 'one')],
      watermark: '{"calendar":"w1"}',
      previousWatermark: '{}',
    });
    expect(outcome).toEqual({ applied: 1, failed: [] });
    const [row] = (
      await instance.query<{ w: string }>('SELECT exh_watermark_calendar AS w FROM exh_watermark WHERE exh_user = $1', [
        user,
      ])
    ).rows;
    expect(row?.w).toBe('{"calendar":"w1"}');
  });

  it('records a poison item in exh_log, applies the rest of the page, and still moves the watermark on', async () => {
    const outcome = await applyPage(db, {
      user,
      itemType: 'calendar',
      changes: [add('B1=', 'before'), add('B2=', 'poison'), add('B3=', 'after')],
      watermark: '{"calendar":"w2"}',
      previousWatermark: '{"calendar":"w1"}',
    });
    expect(outcome.applied).toBe(2);
    expect(outcome.failed).toEqual([
      { itemId: 'B2=', action: 'add', message: expect.stringContaining('refuses subject poison') },
    ]);
    const rows = (
      await instance.query<{ id: string }>(
        "SELECT exh_item_id AS id FROM calendar_item WHERE exh_item_id LIKE 'B%' ORDER BY 1",
      )
    ).rows;
    expect(rows.map((r) => r.id)).toEqual(['B1=', 'B3=']);
    const log = (
      await instance.query<{ code: string; message: string }>(
        'SELECT exh_code AS code, exh_message AS message FROM exh_log',
      )
    ).rows;
    expect(log).toEqual([{ code: 'EXH_DB_PROCEDURE_FAILED', message: expect.stringContaining('B2=') }]);
    const [mark] = (
      await instance.query<{ w: string }>('SELECT exh_watermark_calendar AS w FROM exh_watermark WHERE exh_user = $1', [
        user,
      ])
    ).rows;
    expect(mark?.w).toBe('{"calendar":"w2"}');
  });

  it('does not take a deadlock or lock conflict for a poison item: the whole page fails and is tried again', async () => {
    await instance.exec(`
      CREATE FUNCTION deadlock_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.exh_subject = 'deadlock' THEN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER deadlock_once BEFORE INSERT ON calendar_item FOR EACH ROW EXECUTE FUNCTION deadlock_once();`);
    try {
      await expect(
        applyPage(db, {
          user,
          itemType: 'calendar',
          changes: [add('D1=', 'fine'), add('D2=', 'deadlock')],
          watermark: '{"calendar":"w3"}',
          previousWatermark: '{"calendar":"w2"}',
        }),
      ).rejects.toMatchObject({ code: 'EXH_DB_BUSY', retryable: true });
      const rows = (await instance.query("SELECT 1 FROM calendar_item WHERE exh_item_id LIKE 'D%'")).rows;
      expect(rows).toEqual([]);
      const [mark] = (
        await instance.query<{ w: string }>(
          'SELECT exh_watermark_calendar AS w FROM exh_watermark WHERE exh_user = $1',
          [user],
        )
      ).rows;
      expect(mark?.w).toBe('{"calendar":"w2"}');
    } finally {
      await instance.exec('DROP TRIGGER deadlock_once ON calendar_item');
    }
  });

  it('lets a lost connection through untouched, writing nothing', async () => {
    const closed = createPgliteDatabase({ instance });
    await expect(
      applyPage(closed, {
        user,
        itemType: 'calendar',
        changes: [add('C1=', 'x')],
        watermark: '{}',
        previousWatermark: '{}',
      }),
    ).rejects.toMatchObject({ code: 'EXH_DB_CONNECTION_LOST' });
  });
});
