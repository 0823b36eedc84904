import { describe, expect, it } from 'vitest';
import {
  defineItemType,
  field,
  itemType,
  procedureFields,
  readOnlyField,
  synchronisesItemClass,
  writableFields,
} from '../../src/items/index.js';
import { noteSpec } from '../support/note-spec.js';

/** Building a definition from a spec (src/items/definition.ts); the registry is test/items/index.test.ts. */
describe('defineItemType', () => {
  it('derives the procedure names and their fields from the definition', () => {
    const calendar = itemType('calendar');
    expect(calendar.procedures).toEqual({
      fromExh: { add: 'exh_from_exh_add_calendar', chg: 'exh_from_exh_chg_calendar', del: 'exh_from_exh_del_calendar' },
      toExh: { add: 'exh_to_exh_add_calendar', chg: 'exh_to_exh_chg_calendar', del: 'exh_to_exh_del_calendar' },
      getItem: 'exh_get_item_calendar',
    });
    expect(procedureFields(calendar, 'add')).toEqual(calendar.fields);
    expect(procedureFields(calendar, 'del').map((f) => f.name)).toEqual(['app_item_id', 'item_id', 'user']);
  });

  it('makes a new type from one spec, and refuses duplicate or badly named fields', () => {
    const note = defineItemType(
      noteSpec({
        name: 'task',
        fields: [field('text', 'body', 'body', 'Text.'), readOnlyField('made', 'timestamp', 'created', 'Made.')],
      }),
    );
    expect(note.fields.map((f) => f.name)).toEqual(['app_item_id', 'item_id', 'user', 'text', 'made']);
    expect(note.fields.map((f) => [f.name, f.readOnly])).toEqual([
      ['app_item_id', true],
      ['item_id', true],
      ['user', true],
      ['text', false],
      ['made', true],
    ]);
    expect(note).toMatchObject({ alsoIn: [], createdIn: ['notes'], itemClasses: ['IPM.StickyNote'], behaviour: {} });
    // Every use below gives its own fields.
    const spec = noteSpec({ name: 'task', description: '' });
    expect(() => defineItemType({ ...spec, fields: [field('user', 'text', 'subject', '')] })).toThrow(/defined twice/);
    expect(() => defineItemType({ ...spec, fields: [field('Bad-Name', 'text', 'subject', '')] })).toThrow(/snake_case/);
    // A type reads at least one folder and synchronises at least one item class; its name and number are valid.
    expect(() => defineItemType({ ...spec, folders: [], fields: [] })).toThrow(/no folder/);
    expect(() => defineItemType({ ...spec, itemClasses: [], fields: [] })).toThrow(/no item class/);
    expect(() => defineItemType({ ...spec, name: 'Sticky-Note', fields: [] })).toThrow(/snake_case/);
    expect(() => defineItemType({ ...spec, code: -1, fields: [] })).toThrow(/code -1/);
  });
});

describe('what a definition decides', () => {
  const spec = noteSpec({
    hasAttachments: true,
    fields: [field('text', 'body', 'body', 'Text.'), readOnlyField('made', 'timestamp', 'created', 'Made.')],
  });

  it('lets the application write only its own writable fields: no key field, nothing read back, no attachments', () => {
    expect(writableFields(defineItemType(spec)).map((f) => f.name)).toEqual(['text']);
  });

  it('synchronises its classes and their subclasses, case-blind, and what its behaviour adds for the settings', () => {
    const plain = defineItemType(spec);
    const off = { meetingRequestsResponses: false };
    const on = { meetingRequestsResponses: true };
    expect(synchronisesItemClass(plain, 'IPM.StickyNote', off)).toBe(true);
    expect(synchronisesItemClass(plain, 'ipm.stickynote.pinned', off)).toBe(true);
    expect(synchronisesItemClass(plain, 'IPM.StickyNotes', off)).toBe(false);
    expect(synchronisesItemClass(plain, 'IPM.Note', on)).toBe(false);
    const widened = defineItemType({
      ...spec,
      behaviour: {
        alsoSynchronises: (itemClass, settings) => settings.meetingRequestsResponses && itemClass === 'IPM.Post',
      },
    });
    expect(synchronisesItemClass(widened, 'IPM.Post', off)).toBe(false);
    expect(synchronisesItemClass(widened, 'IPM.Post', on)).toBe(true);
  });
});
