import { describe, expect, it } from 'vitest';
import type { EwsConnection } from '../../../src/exchange/ews/connection.js';
import { occurrences as read } from '../../../src/exchange/ews/occurrences.js';
import { alice, live, startTestEmulator, testAdapter } from './support.js';

/**
 * How the EWS adapter reads a series' occurrences (src/exchange/ews/occurrences.ts) for syncFolder to expand it
 * (test/exchange/ews/sync.test.ts, "recurring series"): by position in the pattern, against the emulator.
 */
const emulator = await startTestEmulator();
const adapter = testAdapter(emulator);
const connect = async () => (await adapter.connect(alice)) as EwsConnection;

/** Weekly on Monday and Wednesday at 09:00 UTC, six times from Monday 5 January 2026. */
function series(subject: string) {
  const master = emulator.admin.createItem(alice, {
    kind: 'CalendarItem',
    Subject: subject,
    Start: '2026-01-05T09:00:00Z',
    End: '2026-01-05T10:00:00Z',
    Recurrence: {
      WeeklyRecurrence: { Interval: 1, DaysOfWeek: 'Monday Wednesday' },
      NumberedRecurrence: { StartDate: '2026-01-05', NumberOfOccurrences: 6 },
    },
  });
  if (!master) throw new Error('no master');
  const occurrences = emulator.admin.occurrences(alice, master.id, '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z');
  return { master, occurrences };
}

describe('occurrences of a recurring series', () => {
  it('gives every occurrence with its original start; a modified one changed, a deleted one absent', async () => {
    const { master, occurrences } = series('Stand-up');
    expect(occurrences).toHaveLength(6);
    // The second occurrence (Wed 7 Jan) moves to 14:00 and gets its own subject; the fourth (Wed 14 Jan) is deleted.
    emulator.admin.updateItem(alice, occurrences[1]?.id ?? '', {
      Subject: 'Stand-up (moved)',
      Start: '2026-01-07T14:00:00Z',
      End: '2026-01-07T15:00:00Z',
    });
    emulator.admin.deleteItem(alice, occurrences[3]?.id ?? '');
    const items = await read(await connect(), master.id, { ...live(), max: 10 });
    expect(
      items.map((i) => [
        i.properties.originalStart,
        i.properties.start,
        i.properties.subject,
        i.properties.isRecurring,
      ]),
    ).toEqual([
      ['2026-01-05T09:00:00.000Z', '2026-01-05T09:00:00.000Z', 'Stand-up', true],
      ['2026-01-07T09:00:00.000Z', '2026-01-07T14:00:00.000Z', 'Stand-up (moved)', true],
      ['2026-01-12T09:00:00.000Z', '2026-01-12T09:00:00.000Z', 'Stand-up', true],
      ['2026-01-19T09:00:00.000Z', '2026-01-19T09:00:00.000Z', 'Stand-up', true],
      ['2026-01-21T09:00:00.000Z', '2026-01-21T09:00:00.000Z', 'Stand-up', true],
    ]);
    expect(new Set(items.map((i) => i.id)).size).toBe(5);
    expect(items.every((i) => i.itemClass === 'IPM.Appointment' && i.uid === items[0]?.uid)).toBe(true);
    expect(items.map((i) => i.id)).not.toContain(master.id);
  });

  it('stops at max, counting positions in the pattern', async () => {
    const { master, occurrences } = series('Review');
    emulator.admin.deleteItem(alice, occurrences[1]?.id ?? '');
    const items = await read(await connect(), master.id, { ...live(), max: 3 });
    expect(items.map((i) => i.properties.originalStart)).toEqual([
      '2026-01-05T09:00:00.000Z',
      '2026-01-12T09:00:00.000Z',
    ]);
  });

  it('names a master that no longer exists (EXH_EXCHANGE_ITEM_NOT_FOUND)', async () => {
    const { master } = series('Gone');
    emulator.admin.deleteItem(alice, master.id, { hard: true });
    await expect(read(await connect(), master.id, { ...live(), max: 5 })).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_ITEM_NOT_FOUND',
    });
  });
});
