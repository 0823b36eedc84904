import { describe, expect, it } from 'vitest';
import { compoundRefused, pageCompounds, pageStatements, toDb2 } from '../../../src/db/adapters/db2-page.js';
import { task } from '../../../src/items/task.js';

describe('db2-page: a page as compound statements', () => {
  it('keeps the order of the one-call-at-a-time adapter, the flag set around the page', () => {
    const statements = pageStatements(task, {
      user: 'Ann@Example.com',
      itemType: 'task',
      renames: [{ from: 'old', to: 'new' }],
      changes: [
        { action: 'add', fields: { item_id: 'A', subject: 's' }, changeKey: 'ck' },
        { action: 'del', fields: { item_id: 'B' }, changeKey: null },
      ],
      meetings: [{ uid: 'u', appItemId: 'app' }],
      watermark: 'w',
    });
    expect(statements.map((s) => s.object)).toEqual([
      'exh_watermark',
      'exh_from_exh_new_id_task',
      'exh_item_version',
      'exh_from_exh_add_task',
      'exh_item_version',
      'exh_from_exh_del_task',
      'exh_item_version',
      'exh_meeting',
      'exh_watermark',
      'exh_watermark',
    ]);
    expect(statements.map((s) => s.text.split(/\s/)[0])).toEqual([
      'SET',
      'CALL',
      'DELETE',
      'CALL',
      'MERGE',
      'CALL',
      'DELETE',
      'MERGE',
      'MERGE',
      'SET',
    ]);
    for (const s of statements) expect(s.text.match(/\?/g)?.length ?? 0).toBe(s.params.length);
  });

  it('splits at the marker and size limits, in order, each compound one BEGIN ATOMIC … END', () => {
    const statements = Array.from({ length: 5 }, (_, i) => ({ text: `CALL p${i}(?, ?)`, params: [i, i], object: 'p' }));
    const compounds = pageCompounds(statements, { markers: 4, bytes: 1_000 });
    expect(compounds.map((c) => c.text)).toEqual([
      'BEGIN ATOMIC\nCALL p0(?, ?);\nCALL p1(?, ?);\nEND',
      'BEGIN ATOMIC\nCALL p2(?, ?);\nCALL p3(?, ?);\nEND',
      'BEGIN ATOMIC\nCALL p4(?, ?);\nEND',
    ]);
    expect(compounds.map((c) => c.params)).toEqual([
      [0, 0, 1, 1],
      [2, 2, 3, 3],
      [4, 4],
    ]);
    expect(pageCompounds(statements, { markers: 100, bytes: 20 })).toHaveLength(5);
    expect(pageCompounds(statements)).toHaveLength(1);
  });

  it('converts values as before and knows a refusal of compound statements from a failure of the data', () => {
    expect([toDb2(true), toDb2(false), toDb2(null), toDb2(undefined), toDb2(3), toDb2("O'Brien")]).toEqual([
      1,
      0,
      null,
      null,
      3,
      "O'Brien",
    ]);
    expect(toDb2(new Date('2026-03-01T10:20:30.456Z'))).toBe('2026-03-01-10.20.30.456');
    expect(compoundRefused({ sqlcode: -104, sqlstate: '42601' })).toBe(true);
    expect(compoundRefused({ sqlcode: -84, sqlstate: '42612' })).toBe(true);
    expect(compoundRefused({ sqlcode: -438, sqlstate: '75001' })).toBe(false);
    expect(compoundRefused({ sqlcode: -545, sqlstate: '23513' })).toBe(false);
  });
});
