import { describe, expect, it } from 'vitest';
import { chunks, getItemParameters, indent, routines, syncItemParameters } from '../../../src/db/sql/routines.js';
import { calendar, defineItemType, field, task } from '../../../src/items/index.js';

describe('routines', () => {
  it("lists the base project's routines: the users, per type its templates (the new-id one too), senders and reader, then the commands", () => {
    expect(routines([task]).map((r) => `${r.name} ${r.owner} ${r.result}`)).toEqual([
      'exh_get_users base rows',
      'exh_from_exh_add_task application nothing',
      'exh_from_exh_chg_task application nothing',
      'exh_from_exh_del_task application nothing',
      'exh_from_exh_new_id_task application nothing',
      'exh_to_exh_add_task base status',
      'exh_to_exh_chg_task base status',
      'exh_to_exh_del_task base status',
      'exh_get_item_task application rows',
      'exh_sync_users base status',
      'exh_sync_item base status',
      'exh_get_attachment base status',
    ]);
  });

  it("gives add and chg every field of the type, del only the keys, each as exh_ + the field's name", () => {
    const list = routines([calendar]);
    const parameters = (name: string) => list.find((r) => r.name === name)?.parameters.map((p) => p.name);
    expect(parameters('exh_to_exh_add_calendar')).toEqual(calendar.fields.map((f) => `exh_${f.name}`));
    expect(parameters('exh_from_exh_chg_calendar')).toEqual(calendar.fields.map((f) => `exh_${f.name}`));
    expect(parameters('exh_to_exh_del_calendar')).toEqual(['exh_app_item_id', 'exh_item_id', 'exh_user']);
    expect(parameters('exh_from_exh_new_id_calendar')).toEqual(['exh_user', 'exh_item_id', 'exh_new_item_id']);
  });

  it('grows with a type defined later: its routines come from its definition alone', () => {
    const note = defineItemType({
      name: 'note',
      code: 9,
      description: 'A test type.',
      folders: [{ name: 'notes', label: 'Notes' }],
      itemClasses: ['IPM.StickyNote'],
      hasAttachments: false,
      fields: [field('text', 'body', 'body', 'Text.')],
    });
    const names = routines([task, note]).map((r) => r.name);
    expect(names.filter((name) => name.endsWith('_note'))).toEqual([
      'exh_from_exh_add_note',
      'exh_from_exh_chg_note',
      'exh_from_exh_del_note',
      'exh_from_exh_new_id_note',
      'exh_to_exh_add_note',
      'exh_to_exh_chg_note',
      'exh_to_exh_del_note',
      'exh_get_item_note',
    ]);
    expect(new Set(names).size).toBe(names.length);
  });

  it("keeps exh_sync_item's parameters in the original's order, and gives exh_get_item_* the user and the ranges", () => {
    expect(syncItemParameters.map((p) => p.name)).toEqual([
      'exh_sync_direction',
      'exh_user',
      'exh_item',
      'exh_add',
      'exh_chg',
      'exh_del',
      'exh_created_from',
      'exh_created_until',
      'exh_modified_from',
      'exh_modified_until',
      'exh_received_from',
      'exh_received_until',
      'exh_start_from',
      'exh_start_until',
    ]);
    expect(getItemParameters.map((p) => p.name)).toEqual([
      'exh_user',
      ...syncItemParameters.slice(6).map((p) => p.name),
    ]);
  });
});

describe('chunks and indent', () => {
  it('splits a list into runs of at most the size, the last one shorter', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 40)).toEqual([]);
  });

  it('indents every line that has text, and leaves empty lines empty', () => {
    expect(indent('a\n\n  b', '  ')).toBe('  a\n\n    b');
  });
});
