import { describe, expect, it } from 'vitest';
import {
  columnName,
  defineItemType,
  field,
  fieldKinds,
  itemType,
  itemTypeByCode,
  itemTypes,
  procedureFields,
} from '../../src/items/index.js';
import { itemTypeNames } from '../../src/ports/database.port.js';

/** The fields issue 3 asks for at least, per type. */
const required: Record<string, string[]> = {
  calendar: [
    'subject',
    'body',
    'body_type',
    'location',
    'start',
    'end',
    'all_day',
    'time_zone',
    'organizer',
    'required_attendees',
    'optional_attendees',
    'resources',
    'categories',
    'importance',
    'sensitivity',
    'free_busy_status',
    'reminder',
    'is_recurring',
    'recurrence',
    'occurrence_original_start',
    'is_cancelled',
    'is_meeting',
    'attachments',
    'created',
    'last_modified',
  ],
  email: [
    'subject',
    'body',
    'body_type',
    'from',
    'sender',
    'to',
    'cc',
    'bcc',
    'reply_to',
    'received',
    'sent',
    'is_read',
    'importance',
    'direction',
    'folder',
    'internet_message_id',
    'conversation_id',
    'in_reply_to',
    'has_attachments',
    'attachments',
    'categories',
  ],
  contact: [
    'display_name',
    'given_name',
    'middle_name',
    'surname',
    'initials',
    'nickname',
    'company',
    'department',
    'job_title',
    'email_1',
    'email_2',
    'email_3',
    'business_phone',
    'home_phone',
    'mobile_phone',
    'business_fax',
    'business_street',
    'business_city',
    'business_state',
    'business_postal_code',
    'business_country',
    'home_street',
    'home_city',
    'home_state',
    'home_postal_code',
    'home_country',
    'birthday',
    'notes',
    'categories',
    'file_as',
  ],
  task: [
    'subject',
    'body',
    'start',
    'due',
    'status',
    'percent_complete',
    'importance',
    'completed',
    'reminder',
    'owner',
    'categories',
  ],
};

describe('item-type definitions', () => {
  it("registers one definition per item type of the port, numbered as the seed's exh_sync_item", () => {
    expect(itemTypes.map((t) => t.name).sort()).toEqual([...itemTypeNames].sort());
    expect(Object.fromEntries(itemTypes.map((t) => [t.name, t.code]))).toEqual({
      calendar: 0,
      contact: 1,
      email: 2,
      task: 3,
    });
    expect(itemTypeByCode(3)?.name).toBe('task');
    expect(itemTypeByCode(7)).toBeUndefined();
  });

  it.each(itemTypes.map((t) => [t.name, t] as const))(
    '%s has the fields of issue 3, keys first',
    (name, definition) => {
      const names = definition.fields.map((f) => f.name);
      expect(names.slice(0, 3)).toEqual(['app_item_id', 'item_id', 'user']);
      expect(names).toEqual(expect.arrayContaining(required[name] ?? []));
      if (definition.hasAttachments) expect(names.at(-1)).toBe('attachments');
      else expect(names).not.toContain('attachments');
      expect(new Set(names).size).toBe(names.length);
      for (const f of definition.fields) {
        expect(fieldKinds).toContain(f.kind);
        expect(f.exchangeProperty).not.toBe('');
        expect(columnName(f)).toBe(`exh_${f.name}`);
      }
    },
  );

  it("gives item ids the case-sensitive id kind and bodies the body kind (the seed's points of attention)", () => {
    for (const definition of itemTypes) {
      expect(definition.fields.find((f) => f.name === 'item_id')?.kind).toBe('itemId');
      const body = definition.fields.find((f) => f.exchangeProperty === 'Body');
      expect(body?.kind).toBe('body');
    }
  });

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
    const note = defineItemType({
      name: 'task',
      code: 9,
      description: 'A test type.',
      hasAttachments: false,
      fields: [field('text', 'body', 'Body', 'Text.')],
    });
    expect(note.fields.map((f) => f.name)).toEqual(['app_item_id', 'item_id', 'user', 'text']);
    const spec = { name: 'task' as const, code: 9, description: '', hasAttachments: false };
    expect(() => defineItemType({ ...spec, fields: [field('user', 'text', 'X', '')] })).toThrow(/defined twice/);
    expect(() => defineItemType({ ...spec, fields: [field('Bad-Name', 'text', 'X', '')] })).toThrow(/snake_case/);
  });
});
