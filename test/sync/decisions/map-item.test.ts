import { describe, expect, it } from 'vitest';
import { decodeAttachmentInfo } from '../../../src/db/attachment-info.js';
import { calendar } from '../../../src/items/calendar.js';
import { contact } from '../../../src/items/contact.js';
import { mapItem } from '../../../src/sync/decisions/map-item.js';

const options = { user: 'bob@contoso.test', folder: 'calendar' as const, maxBodyLength: 0 };

describe('mapItem', () => {
  it('fills every field of the definition, typed by its kind', () => {
    const { fields } = mapItem(
      calendar,
      {
        id: 'AAMk=',
        changeKey: 'ck',
        itemClass: 'IPM.Appointment',
        properties: {
          appItemId: 'app-42',
          subject: 'Planning',
          start: '2026-03-02T09:00:00.000Z',
          isAllDay: false,
          reminderMinutes: 15,
          requiredAttendees: ['alice@contoso.test', 'bob@contoso.test'],
          attachments: [{ name: 'agenda: v2.pdf', id: 'ATT;1' }],
        },
      },
      options,
    );
    // The derived fields and the properties the item carries; what it does not carry is left out (next tests).
    expect(Object.keys(fields).sort()).toEqual(
      calendar.fields
        .filter((f) =>
          [
            'itemId',
            'mailbox',
            'folderLabel',
            'folderDirection',
            'appItemId',
            'subject',
            'start',
            'isAllDay',
            'reminderMinutes',
            'requiredAttendees',
            'attachments',
          ].includes(f.property),
        )
        .map((f) => f.name)
        .sort(),
    );
    expect(fields).toMatchObject({
      app_item_id: 'app-42',
      item_id: 'AAMk=',
      user: 'bob@contoso.test',
      subject: 'Planning',
      start: new Date('2026-03-02T09:00:00.000Z'),
      all_day: false,
      reminder: 15,
      required_attendees: 'alice@contoso.test; bob@contoso.test',
    });
    expect(decodeAttachmentInfo(String(fields.attachments))).toEqual([{ name: 'agenda: v2.pdf', id: 'ATT;1' }]);
  });

  it("clears empty text with '' but leaves the application's id and non-text values NULL", () => {
    const { fields } = mapItem(
      calendar,
      {
        id: 'X',
        changeKey: 'c',
        itemClass: 'IPM.Appointment',
        properties: { subject: null, location: '', appItemId: null, start: null, isAllDay: null },
      },
      options,
    );
    expect(fields.subject).toBe('');
    expect(fields.location).toBe('');
    expect(fields.app_item_id).toBeNull();
    expect(fields.start).toBeNull();
    expect(fields.all_day).toBeNull();
  });

  it('leaves out the fields of properties the backend does not carry (absent, not null), so the columns are kept', () => {
    const { fields } = mapItem(
      calendar,
      { id: 'X', changeKey: 'c', itemClass: 'IPM.Appointment', properties: { subject: 'Kept apart' } },
      options,
    );
    expect(fields.subject).toBe('Kept apart');
    expect(fields.item_id).toBe('X');
    expect(fields.user).toBe('bob@contoso.test');
    expect('location' in fields).toBe(false);
    expect('start' in fields).toBe(false);
    expect('app_item_id' in fields).toBe(false);
  });

  it('keeps a birthday as the date Exchange stored, whatever the time zone', () => {
    const { fields } = mapItem(
      contact,
      {
        id: 'C',
        changeKey: 'c',
        itemClass: 'IPM.Contact',
        properties: { birthday: '1990-07-14T00:00:00Z', mobilePhone: '+31 6 1234' },
      },
      { ...options, folder: 'contacts' },
    );
    expect(fields.birthday).toBe('1990-07-14');
    expect(fields.mobile_phone).toBe('+31 6 1234');
  });
});
