import { describe, expect, it } from 'vitest';
import { columnName, fieldKinds, foldersOf, itemType, itemTypes } from '../../src/items/index.js';
import { derivedProperties, folderNames, itemProperties } from '../../src/ports/item-properties.js';

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
  it('gives every type its folders and item classes, no folder read by two types', () => {
    expect(Object.fromEntries(itemTypes.map((t) => [t.name, foldersOf(t.name)]))).toEqual({
      calendar: ['calendar'],
      contact: ['contacts'],
      email: ['inbox', 'sentitems'],
      task: ['tasks'],
    });
    expect(Object.fromEntries(itemTypes.map((t) => [t.name, t.itemClasses]))).toEqual({
      calendar: ['IPM.Appointment'],
      contact: ['IPM.Contact'],
      email: ['IPM.Note'],
      task: ['IPM.Task'],
    });
    expect(Object.fromEntries(itemTypes.map((t) => [t.name, { alsoIn: t.alsoIn, createdIn: t.createdIn }]))).toEqual({
      calendar: { alsoIn: [], createdIn: ['calendar'] },
      contact: { alsoIn: [], createdIn: ['contacts'] },
      email: { alsoIn: ['drafts'], createdIn: ['sentitems', 'drafts'] },
      task: { alsoIn: [], createdIn: ['tasks'] },
    });
    expect(itemType('email').folders).toEqual([
      { name: 'inbox', label: 'Inbox', direction: 'incoming' },
      { name: 'sentitems', label: 'Sent Items', direction: 'outgoing' },
    ]);
    const read = itemTypes.flatMap((t) => foldersOf(t.name));
    expect(new Set(read).size).toBe(read.length);
    for (const t of itemTypes) {
      for (const folder of [...foldersOf(t.name), ...t.alsoIn, ...t.createdIn]) expect(folderNames).toContain(folder);
      expect(t.folders.every((folder) => folder.label !== '')).toBe(true);
    }
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
        expect([...itemProperties, ...derivedProperties]).toContain(f.property);
        // What the core derives itself is never written to Exchange.
        if ((derivedProperties as readonly string[]).includes(f.property)) expect(f.readOnly).toBe(true);
        expect(columnName(f)).toBe(`exh_${f.name}`);
      }
    },
  );

  it('gives item ids the case-sensitive id kind and bodies the body kind (docs/database.md, Types)', () => {
    for (const definition of itemTypes) {
      expect(definition.fields.find((f) => f.name === 'item_id')?.kind).toBe('itemId');
      const body = definition.fields.find((f) => f.property === 'body');
      expect(body?.kind).toBe('body');
    }
  });

  it('marks what is read back from Exchange and never written read-only', () => {
    const readOnly = Object.fromEntries(
      itemTypes.map((t) => [t.name, t.fields.filter((f) => f.readOnly).map((f) => f.name)]),
    );
    const keys = ['app_item_id', 'item_id', 'user'];
    expect(readOnly).toEqual({
      calendar: [
        ...keys,
        'organizer',
        'is_recurring',
        'recurrence',
        'occurrence_original_start',
        'is_cancelled',
        'is_meeting',
        'created',
        'last_modified',
        'attachments',
      ],
      contact: keys,
      email: [
        ...keys,
        'from',
        'sender',
        'received',
        'sent',
        'direction',
        'folder',
        'internet_message_id',
        'conversation_id',
        'has_attachments',
        'attachments',
      ],
      task: [...keys, 'owner', 'attachments'],
    });
  });
});
