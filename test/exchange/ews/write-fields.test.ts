import { describe, expect, it } from 'vitest';
import {
  createXml,
  elementOf,
  hasAttendees,
  hasRecipients,
  InvalidFieldValue,
  isEmailClass,
  updateXml,
  writable,
} from '../../../src/exchange/ews/write-fields.js';
import { itemType } from '../../../src/items/index.js';
import { writeOf } from '../../../src/sync/decisions/map-item.js';

describe('write-fields: the XML of a change (pure)', () => {
  it('create lists the elements in schema order, escaped, and leaves out null and empty values', () => {
    const xml = createXml('IPM.Contact', {
      surname: 'Dijk & Zn',
      displayName: 'Jan <Dijk>',
      'homeAddress.city': 'Ede',
      'businessAddress.street': 'Laan 1',
      'homeAddress.street': 'Weg 2',
      email2: 'b@x.test',
      email1: 'a@x.test',
      jobTitle: '',
      company: null,
      // Read-only: no writer, left out.
      created: '2026-01-01T00:00:00Z',
    });
    expect(xml).toBe(
      '<t:Contact><t:DisplayName>Jan &lt;Dijk&gt;</t:DisplayName>' +
        '<t:EmailAddresses><t:Entry Key="EmailAddress1">a@x.test</t:Entry>' +
        '<t:Entry Key="EmailAddress2">b@x.test</t:Entry></t:EmailAddresses>' +
        '<t:PhysicalAddresses><t:Entry Key="Business"><t:Street>Laan 1</t:Street></t:Entry>' +
        '<t:Entry Key="Home"><t:Street>Weg 2</t:Street><t:City>Ede</t:City></t:Entry></t:PhysicalAddresses>' +
        '<t:Surname>Dijk &amp; Zn</t:Surname></t:Contact>',
    );
  });

  it("update: a value is set, '' is deleted, null is left alone; Start cannot be cleared", () => {
    expect(
      updateXml('IPM.Appointment', {
        subject: 'A&B',
        location: '',
        body: null,
        categories: ';',
        start: '',
        requiredAttendees: 'x@y.test',
        // Read-only: no writer, left out.
        isCancelled: true,
      }),
    ).toEqual([
      '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>A&amp;B</t:Subject>' +
        '</t:CalendarItem></t:SetItemField>',
      '<t:DeleteItemField><t:FieldURI FieldURI="item:Categories"/></t:DeleteItemField>',
      '<t:DeleteItemField><t:FieldURI FieldURI="calendar:Location"/></t:DeleteItemField>',
      '<t:SetItemField><t:FieldURI FieldURI="calendar:RequiredAttendees"/><t:CalendarItem><t:RequiredAttendees>' +
        '<t:Attendee><t:Mailbox><t:EmailAddress>x@y.test</t:EmailAddress></t:Mailbox></t:Attendee>' +
        '</t:RequiredAttendees></t:CalendarItem></t:SetItemField>',
    ]);
    // Schema order: PhysicalAddresses before PhoneNumbers.
    expect(updateXml('IPM.Contact', { mobilePhone: '', 'homeAddress.city': 'Ede' })).toEqual([
      '<t:SetItemField><t:IndexedFieldURI FieldURI="contacts:PhysicalAddress:City" FieldIndex="Home"/><t:Contact>' +
        '<t:PhysicalAddresses><t:Entry Key="Home"><t:City>Ede</t:City></t:Entry></t:PhysicalAddresses>' +
        '</t:Contact></t:SetItemField>',
      '<t:DeleteItemField><t:IndexedFieldURI FieldURI="contacts:PhoneNumber" FieldIndex="MobilePhone"/>' +
        '</t:DeleteItemField>',
    ]);
  });

  it("names a refused value by its label (the application's column, through writeOf), else by its property", () => {
    expect(() => updateXml('IPM.Task', { dueDate: 'next week' })).toThrow(/dueDate/);
    const labelled = writeOf(itemType('task'), { subject: 'x', due: 'next week' });
    expect(labelled).toMatchObject({ itemClass: 'IPM.Task', folder: 'tasks', labels: { dueDate: 'exh_due' } });
    expect(() => updateXml(labelled.itemClass, labelled.properties, labelled.labels)).toThrow(/exh_due/);
    expect(() => createXml(labelled.itemClass, labelled.properties, [], labelled.labels)).toThrow(/exh_due/);
  });

  it('writes a message class that is no e-mail as a Message that says its class', () => {
    expect(createXml('IPM.StickyNote', { subject: 'Note & more', to: 'x@y.test' })).toBe(
      '<t:Message><t:ItemClass>IPM.StickyNote</t:ItemClass><t:Subject>Note &amp; more</t:Subject>' +
        '<t:ToRecipients><t:Mailbox><t:EmailAddress>x@y.test</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message>',
    );
    expect(createXml('IPM.Note', { subject: 'Mail' })).toBe('<t:Message><t:Subject>Mail</t:Subject></t:Message>');
  });

  it('reads loose values as Exchange wants them: yes/0, any case of a code, whole numbers, dates at midnight UTC', () => {
    expect(
      createXml('IPM.Task', { subject: 'T', reminderSet: 'yes', importance: 'high', percentComplete: '49.6' }),
    ).toBe(
      '<t:Task><t:Subject>T</t:Subject><t:Importance>High</t:Importance><t:ReminderIsSet>true</t:ReminderIsSet>' +
        '<t:PercentComplete>50</t:PercentComplete></t:Task>',
    );
    expect(updateXml('IPM.Contact', { birthday: '1990-05-17T15:30:00+02:00' })).toEqual([
      '<t:SetItemField><t:FieldURI FieldURI="contacts:Birthday"/><t:Contact><t:Birthday>1990-05-17T00:00:00Z' +
        '</t:Birthday></t:Contact></t:SetItemField>',
    ]);
    expect(updateXml('IPM.Note', { isRead: '0' })[0]).toContain('<t:IsRead>false</t:IsRead>');
  });

  it('says a body is HTML when it looks like markup, unless the body type says otherwise', () => {
    expect(createXml('IPM.Note', { body: '<p>Hi</p>' })).toContain('<t:Body BodyType="HTML">&lt;p&gt;Hi&lt;/p&gt;');
    expect(createXml('IPM.Note', { body: 'a < b' })).toContain('<t:Body BodyType="Text">a &lt; b</t:Body>');
    expect(createXml('IPM.Note', { body: '<p>Hi</p>', bodyType: 'text' })).toContain('<t:Body BodyType="Text">');
  });

  it('refuses a value no writer can render, saying what it expected', () => {
    const refusal = (values: Parameters<typeof updateXml>[1]) => {
      try {
        updateXml('IPM.Task', values);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidFieldValue);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal({ reminderSet: 'perhaps' })).toBe('reminderSet: "perhaps" is not true or false (boolean)');
    expect(refusal({ percentComplete: 'half' })).toBe('percentComplete: "half" is not a number (integer)');
    expect(refusal({ status: 'Done' })).toBe(
      'status: "Done" is not one of NotStarted, InProgress, Completed, WaitingOnOthers, Deferred (code)',
    );
    // Deleting needs no valid value: '' is never rendered.
    expect(updateXml('IPM.Task', { dueDate: '' })).toEqual([
      '<t:DeleteItemField><t:FieldURI FieldURI="task:DueDate"/></t:DeleteItemField>',
    ]);
  });

  it('moves an all-day appointment to midnight of its time zone, summer and winter; a timed one stays in UTC', () => {
    const allDay = (day: string) =>
      createXml('IPM.Appointment', {
        start: `${day}T00:00:00Z`,
        isAllDay: true,
        timeZone: 'W. Europe Standard Time',
      });
    expect(allDay('2026-07-01')).toContain('<t:Start>2026-06-30T22:00:00.000Z</t:Start>');
    expect(allDay('2026-01-10')).toContain('<t:Start>2026-01-09T23:00:00.000Z</t:Start>');
    expect(allDay('2026-01-10')).toContain('<t:StartTimeZone Id="W. Europe Standard Time"/>');
    const timed = createXml('IPM.Appointment', {
      start: '2026-07-01T09:00:00+02:00',
      timeZone: 'W. Europe Standard Time',
    });
    expect(timed).toContain('<t:Start>2026-07-01T07:00:00.000Z</t:Start>');
  });

  it('picks the element by class, and knows which classes send and which writes invite or address anyone', () => {
    expect(['IPM.Appointment.Occurrence', 'ipm.contact', 'IPM.Task', 'IPM.Note', 'IPM.Post'].map(elementOf)).toEqual([
      'CalendarItem',
      'Contact',
      'Task',
      'Message',
      'Message',
    ]);
    expect(elementOf('IPM.Contactless')).toBe('Message');
    expect([isEmailClass('IPM.Note.SMIME'), isEmailClass('IPM.Notebook'), isEmailClass('IPM.StickyNote')]).toEqual([
      true,
      false,
      false,
    ]);
    expect([writable('IPM.Contact', 'mobilePhone'), writable('IPM.Contact', 'subject')]).toEqual([true, false]);
    expect(hasAttendees({ requiredAttendees: ' ; ', resources: null })).toBe(false);
    expect(hasAttendees({ resources: 'room-1@x.test' })).toBe(true);
    expect(hasRecipients({ to: '', cc: ',' })).toBe(false);
    expect(hasRecipients({ bcc: 'x@y.test' })).toBe(true);
  });
});
