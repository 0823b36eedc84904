import { afterAll, describe, expect, it } from 'vitest';
import { decodeContinuation } from '../../../src/exchange/ews/continuation.js';
import { calendar } from '../../../src/items/calendar.js';
import { createLogging } from '../../../src/logging/logger.js';
import { type SyncSettings, syncItemType } from '../../../src/sync/executors/sync-item-type.js';
import { alice, live, startTestEmulator, testAdapter, weeklySeries } from '../../exchange/ews/support.js';
import { exampleDatabase } from '../../support/example-database.js';

/**
 * Upgrading from a watermark written before recurring series moved behind the port: the calendar's EWS sync state
 * bare, and the occurrence ids the core had given the application per series under a top-level `series`. The first
 * sync after the upgrade hands those ids to the adapter (SyncFolderOptions.knownOccurrences), so the rows of a series
 * deleted in Exchange before it still go, nothing is added twice, and the ids live on in the adapter's continuation.
 * Through every real part but the process: the emulator over EWS, the sync core, PGlite with the example application.
 */
const emulator = await startTestEmulator();
const adapter = testAdapter(emulator);
const database = await exampleDatabase([alice]);
const { instance, db } = database;
afterAll(database.close);
const { logger } = createLogging({ level: 'silent', format: 'json', stdout: { write: () => {} } });

const settings: SyncSettings = {
  htmlBody: false,
  maxBodyLength: 0,
  maxSyncedRecurrences: 10,
  meetingRequestsResponses: false,
  // One change a page: the ids must reach the adapter once, not with every page.
  pageSize: 1,
  conflicts: 'exchange-wins',
};

async function sync() {
  const { rows } = await instance.query<{ watermark: string | null }>(
    'SELECT exh_watermark_calendar AS watermark FROM exh_watermark WHERE exh_user = $1',
    [alice],
  );
  const connection = await adapter.connect(alice);
  return syncItemType(
    { db, connection, definition: calendar, settings, logger },
    { user: alice, watermark: rows[0]?.watermark ?? null, signal: live().signal },
  );
}

async function ids(): Promise<string[]> {
  const { rows } = await instance.query<{ exh_item_id: string }>(
    'SELECT exh_item_id FROM calendar_item WHERE exh_user = $1 ORDER BY exh_item_id',
    [alice],
  );
  return rows.map((row) => row.exh_item_id);
}

const series = (subject: string, start: string) => weeklySeries(emulator, alice, subject, start, 30);

describe('a watermark of the earlier format (the calendar’s bare sync state and the core’s `series`)', () => {
  it('keeps working: a series deleted before the first sync after the upgrade takes its rows, nothing is doubled', async () => {
    const doomed = series('Deleted before the upgrade', '2027-03-01');
    const kept = series('Kept', '2027-04-05');
    await sync();
    const all = [doomed, kept].flatMap((s) => [s.master.id, ...s.occurrences.map((o) => o.id)]).sort();
    expect(await ids()).toEqual(all);

    // The watermark as the connector wrote it before the upgrade.
    const { rows } = await instance.query<{ watermark: string }>(
      'SELECT exh_watermark_calendar AS watermark FROM exh_watermark WHERE exh_user = $1',
      [alice],
    );
    const now = decodeContinuation(JSON.parse(rows[0]?.watermark as string).calendar);
    const earlier = JSON.stringify({ calendar: now.state, series: now.series });
    expect(Object.keys(now.series ?? {}).sort()).toEqual([doomed.master.id, kept.master.id].sort());
    await instance.query('UPDATE exh_watermark SET exh_watermark_calendar = $1 WHERE exh_user = $2', [earlier, alice]);

    // Meanwhile in Exchange: one series deleted, two appointments made.
    emulator.admin.deleteItem(alice, doomed.master.id);
    const made = ['One', 'Two'].map(
      (subject) =>
        emulator.admin.createItem(alice, {
          kind: 'CalendarItem',
          Subject: subject,
          Start: '2027-05-03T12:00:00Z',
          End: '2027-05-03T13:00:00Z',
        })?.id as string,
    );
    // The deletion of the series and of its four occurrences, and two new rows: each once.
    expect(await sync()).toMatchObject({ applied: 7, failed: 0, restarted: false });
    const keptIds = [kept.master.id, ...kept.occurrences.map((o) => o.id)];
    expect(await ids()).toEqual([...keptIds, ...made].sort());
    const { rows: after } = await instance.query<{ watermark: string }>(
      'SELECT exh_watermark_calendar AS watermark FROM exh_watermark WHERE exh_user = $1',
      [alice],
    );
    expect(Object.keys(JSON.parse(after[0]?.watermark as string))).toEqual(['calendar']);

    // The ids of the series still there went on with the adapter: an occurrence deleted now takes its row.
    emulator.admin.deleteItem(alice, kept.occurrences[1]?.id as string);
    await sync();
    expect(await ids()).toEqual([...keptIds.filter((id) => id !== kept.occurrences[1]?.id), ...made].sort());
  });
});
