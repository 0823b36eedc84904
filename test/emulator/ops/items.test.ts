import {
  Appointment,
  BasePropertySet,
  BodyType,
  ConflictResolutionMode,
  Contact,
  DateTime,
  DeleteMode,
  EmailAddress,
  EmailAddressKey,
  EmailMessage,
  EventType,
  ExchangeVersion,
  ExtendedPropertyDefinition,
  FolderId,
  Guid,
  Item,
  ItemId,
  MapiPropertyType,
  MessageBody,
  PhoneNumberKey,
  PropertySet,
  SendCancellationsMode,
  SendInvitationsMode,
  SendInvitationsOrCancellationsMode,
  Task,
  TaskStatus,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { codeOf, errorCodeOf, ewsService, mailboxState, soap, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const alice = 'alice@contoso.test';
const service = ewsService(emulator, alice);
const appItemId = new ExtendedPropertyDefinition(
  new Guid('c11ff724-aa03-4555-9952-8fa248a11c3e'),
  'exh_app_item_id',
  MapiPropertyType.String,
);
const withExtended = new PropertySet(BasePropertySet.FirstClassProperties, [appItemId]);

async function newAppointment(subject: string): Promise<Appointment> {
  const appointment = new Appointment(service);
  appointment.Subject = subject;
  appointment.Body = new MessageBody(BodyType.HTML, '&lt;p&gt;Agenda &amp;amp; notes&lt;/p&gt;');
  appointment.Start = new DateTime(Date.UTC(2024, 2, 4, 9, 0, 0));
  appointment.End = new DateTime(Date.UTC(2024, 2, 4, 10, 30, 0));
  appointment.Location = 'Room 1';
  appointment.SetExtendedProperty(appItemId, 'APP-1');
  await appointment.Save(SendInvitationsMode.SendToNone);
  return appointment;
}

describe('CreateItem and GetItem', () => {
  it('stores an appointment with its body, times and extended property, as GetItem returns it', async () => {
    const created = await newAppointment('Planning');
    const read = await Appointment.Bind(service, created.Id, withExtended);
    expect(read.Subject).toBe('Planning');
    expect(read.Body.Text).toBe('<p>Agenda &amp; notes</p>');
    expect(read.Body.BodyType).toBe(BodyType.HTML);
    expect(read.Start.TotalMilliSeconds).toBe(Date.UTC(2024, 2, 4, 9, 0, 0));
    expect(read.End.TotalMilliSeconds).toBe(Date.UTC(2024, 2, 4, 10, 30, 0));
    expect(read.Location).toBe('Room 1');
    expect(read.ICalUid).toMatch(/^040000008200E00074C5B7101A82E008/);
    const value = { outValue: null as unknown };
    expect(read.ExtendedProperties.TryGetValue(appItemId, value)).toBe(true);
    expect(value.outValue).toBe('APP-1');
  });

  it('returns extended properties only when asked for, as Exchange does', async () => {
    const created = await newAppointment('No extended');
    const read = await Appointment.Bind(service, created.Id, PropertySet.FirstClassProperties);
    expect(read.ExtendedProperties.Count).toBe(0);
  });

  it('converts the body to text when the client asks for text', async () => {
    const created = await newAppointment('Text body');
    const shape = new PropertySet(BasePropertySet.FirstClassProperties);
    shape.RequestedBodyType = BodyType.Text;
    const read = await Appointment.Bind(service, created.Id, shape);
    expect(read.Body.BodyType).toBe(BodyType.Text);
    expect(read.Body.Text).toBe('Agenda & notes');
  });

  it('keeps a draft e-mail, a contact with indexed fields and a task in their folders', async () => {
    const message = new EmailMessage(service);
    message.Subject = 'Draft';
    message.Body = new MessageBody(BodyType.Text, 'Hello');
    message.ToRecipients.Add('someone@example.test');
    await message.Save(WellKnownFolderName.Drafts);

    const contact = new Contact(service);
    contact.GivenName = 'Carol';
    contact.Surname = 'Jones';
    contact.EmailAddresses._setItem(EmailAddressKey.EmailAddress1, new EmailAddress('carol@example.test'));
    contact.PhoneNumbers._setItem(PhoneNumberKey.BusinessPhone, '+31 15 000 0000');
    await contact.Save();

    const task = new Task(service);
    task.Subject = 'File report';
    task.DueDate = new DateTime(Date.UTC(2024, 4, 1));
    task.Status = TaskStatus.InProgress;
    await task.Save();

    const [readMessage, readContact, readTask] = await Promise.all([
      EmailMessage.Bind(service, message.Id, PropertySet.FirstClassProperties),
      Contact.Bind(service, contact.Id, PropertySet.FirstClassProperties),
      Task.Bind(service, task.Id, PropertySet.FirstClassProperties),
    ]);
    expect(readMessage.Subject).toBe('Draft');
    expect(readMessage.IsDraft).toBe(true);
    expect(readMessage.ToRecipients._getItem(0).Address).toBe('someone@example.test');
    expect(readContact.DisplayName).toBe('Carol Jones');
    expect(readContact.EmailAddresses._getItem(EmailAddressKey.EmailAddress1).Address).toBe('carol@example.test');
    expect(readContact.PhoneNumbers._getItem(PhoneNumberKey.BusinessPhone)).toBe('+31 15 000 0000');
    expect(readTask.Status).toBe(TaskStatus.InProgress);
    expect(readTask.DueDate.TotalMilliSeconds).toBe(Date.UTC(2024, 4, 1));
    const folders = Object.fromEntries(
      emulator.admin.items(alice).map((i) => [i.properties.Subject ?? i.properties.GivenName, i.folder]),
    );
    expect(folders).toMatchObject({ Draft: 'drafts', Carol: 'contacts', 'File report': 'tasks' });
  });

  it('refuses markup that was not escaped, with Exchange schema validation fault', async () => {
    const answer = await soap(
      emulator,
      '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>x</t:Subject><t:Body BodyType="HTML"><b>bold</b></t:Body></t:CalendarItem></m:Items></m:CreateItem>',
      { impersonate: alice },
    );
    expect(answer.status).toBe(500);
    expect(answer.text).toContain('a:ErrorSchemaValidation');
    expect(emulator.admin.items(alice, 'calendar').some((i) => i.properties.Subject === 'x')).toBe(false);
  });
});

describe('ids', () => {
  it('keeps two items whose ids differ only in case apart', async () => {
    const lower = 'AAMkAcaseSensitiveIdOfAnItem0000==';
    const upper = 'AAMkACASESENSITIVEIDOFANITEM0000==';
    emulator.admin.createItem(alice, { kind: 'Task', id: lower, Subject: 'lower' });
    emulator.admin.createItem(alice, { kind: 'Task', id: upper, Subject: 'upper' });
    const [a, b] = await Promise.all([
      Item.Bind(service, new ItemId(lower), PropertySet.FirstClassProperties),
      Item.Bind(service, new ItemId(upper), PropertySet.FirstClassProperties),
    ]);
    expect([a.Subject, b.Subject]).toEqual(['lower', 'upper']);
    const mixed = 'AAMkACaseSensitiveIdOfAnItem0000==';
    expect(await errorCodeOf(() => Item.Bind(service, new ItemId(mixed), PropertySet.IdOnly))).toBe(
      'ErrorItemNotFound',
    );
  });

  it("answers ErrorInvalidIdMalformed for an id that cannot be Exchange's", async () => {
    expect(await errorCodeOf(() => Item.Bind(service, new ItemId('not an id!'), PropertySet.IdOnly))).toBe(
      'ErrorInvalidIdMalformed',
    );
  });

  it("does not show one mailbox's items in another", async () => {
    const created = await newAppointment('Private');
    const bob = ewsService(emulator, 'bob@contoso.test');
    expect(await errorCodeOf(() => Item.Bind(bob, created.Id, PropertySet.IdOnly))).toBe('ErrorItemNotFound');
  });
});

describe('UpdateItem', () => {
  it('changes the ChangeKey on every update', async () => {
    const appointment = await newAppointment('Before');
    const keys = [appointment.Id.ChangeKey];
    appointment.Subject = 'After';
    await appointment.Update(ConflictResolutionMode.AutoResolve, SendInvitationsOrCancellationsMode.SendToNone);
    keys.push(appointment.Id.ChangeKey);
    appointment.Location = 'Room 2';
    await appointment.Update(ConflictResolutionMode.AutoResolve, SendInvitationsOrCancellationsMode.SendToNone);
    keys.push(appointment.Id.ChangeKey);
    expect(new Set(keys).size).toBe(3);
    const read = await Appointment.Bind(service, appointment.Id);
    expect([read.Subject, read.Location]).toEqual(['After', 'Room 2']);
  });

  it('answers ErrorIrresolvableConflict to a stale ChangeKey with NeverOverwrite, and merges with AutoResolve', async () => {
    const appointment = await newAppointment('Shared');
    const other = await Appointment.Bind(service, appointment.Id);
    other.Location = 'Changed elsewhere';
    await other.Update(ConflictResolutionMode.AlwaysOverwrite, SendInvitationsOrCancellationsMode.SendToNone);

    appointment.Subject = 'Mine';
    expect(
      await errorCodeOf(() =>
        appointment.Update(ConflictResolutionMode.NeverOverwrite, SendInvitationsOrCancellationsMode.SendToNone),
      ),
    ).toBe('ErrorIrresolvableConflict');
    // A different property changed meanwhile: AutoResolve merges.
    await appointment.Update(ConflictResolutionMode.AutoResolve, SendInvitationsOrCancellationsMode.SendToNone);
    const read = await Appointment.Bind(service, appointment.Id);
    expect([read.Subject, read.Location]).toEqual(['Mine', 'Changed elsewhere']);
  });

  it('answers ErrorIrresolvableConflict with AutoResolve when the same property changed meanwhile', async () => {
    const appointment = await newAppointment('Contended');
    const other = await Appointment.Bind(service, appointment.Id);
    other.Subject = 'Theirs';
    await other.Update(ConflictResolutionMode.AlwaysOverwrite, SendInvitationsOrCancellationsMode.SendToNone);
    appointment.Subject = 'Mine';
    expect(
      await errorCodeOf(() =>
        appointment.Update(ConflictResolutionMode.AutoResolve, SendInvitationsOrCancellationsMode.SendToNone),
      ),
    ).toBe('ErrorIrresolvableConflict');
    await appointment.Update(ConflictResolutionMode.AlwaysOverwrite, SendInvitationsOrCancellationsMode.SendToNone);
    expect((await Appointment.Bind(service, appointment.Id)).Subject).toBe('Mine');
  });

  it('sets, changes and deletes extended and indexed properties', async () => {
    const appointment = await newAppointment('Extended');
    appointment.SetExtendedProperty(appItemId, 'APP-2');
    await appointment.Update(ConflictResolutionMode.AlwaysOverwrite, SendInvitationsOrCancellationsMode.SendToNone);
    const value = { outValue: null as unknown };
    (await Appointment.Bind(service, appointment.Id, withExtended)).ExtendedProperties.TryGetValue(appItemId, value);
    expect(value.outValue).toBe('APP-2');
    appointment.RemoveExtendedProperty(appItemId);
    await appointment.Update(ConflictResolutionMode.AlwaysOverwrite, SendInvitationsOrCancellationsMode.SendToNone);
    expect((await Appointment.Bind(service, appointment.Id, withExtended)).ExtendedProperties.Count).toBe(0);

    const contact = new Contact(service);
    contact.GivenName = 'Dan';
    contact.EmailAddresses._setItem(EmailAddressKey.EmailAddress1, new EmailAddress('dan@one.test'));
    contact.EmailAddresses._setItem(EmailAddressKey.EmailAddress2, new EmailAddress('dan@two.test'));
    await contact.Save();
    contact.EmailAddresses._setItem(EmailAddressKey.EmailAddress1, new EmailAddress('dan@new.test'));
    await contact.Update(ConflictResolutionMode.AlwaysOverwrite);
    const read = await Contact.Bind(service, contact.Id);
    expect(read.EmailAddresses._getItem(EmailAddressKey.EmailAddress1).Address).toBe('dan@new.test');
    expect(read.EmailAddresses._getItem(EmailAddressKey.EmailAddress2).Address).toBe('dan@two.test');
  });

  it('clears a property with DeleteItemField', async () => {
    const appointment = await newAppointment('Clear location');
    appointment.Location = null as unknown as string;
    await appointment.Update(ConflictResolutionMode.AlwaysOverwrite, SendInvitationsOrCancellationsMode.SendToNone);
    const read = await Appointment.Bind(service, appointment.Id);
    expect(read.Location ?? null).toBeNull();
  });
  it('changes nothing when one update of an ItemChange is refused', async () => {
    const appointment = await newAppointment('Untouched');
    const update = (updates: string) =>
      soap(
        emulator,
        `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="${appointment.Id.UniqueId}"/><t:Updates>${updates}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
        { impersonate: alice },
      );
    const subject =
      '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Changed</t:Subject></t:CalendarItem></t:SetItemField>';
    const created =
      '<t:SetItemField><t:FieldURI FieldURI="item:DateTimeCreated"/><t:CalendarItem><t:DateTimeCreated>2020-01-01T00:00:00Z</t:DateTimeCreated></t:CalendarItem></t:SetItemField>';
    const endFirst =
      '<t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>2024-03-04T08:00:00Z</t:End></t:CalendarItem></t:SetItemField>';
    expect((await update(subject + created)).text).toContain(
      '<m:ResponseCode>ErrorInvalidPropertySet</m:ResponseCode>',
    );
    expect((await update(subject + endFirst)).text).toContain(
      '<m:ResponseCode>ErrorCalendarEndDateIsEarlierThanStartDate</m:ResponseCode>',
    );
    const read = await Appointment.Bind(service, appointment.Id);
    expect(read.Subject).toBe('Untouched');
    expect(read.Id.ChangeKey).toBe(appointment.Id.ChangeKey);
  });

  it('changes nothing for an empty Updates: no new ChangeKey, no ModifiedEvent', async () => {
    const appointment = await newAppointment('Empty update');
    const watch = await service.SubscribeToPullNotifications(
      [new FolderId(WellKnownFolderName.Calendar)],
      10,
      null as unknown as string,
      EventType.Modified,
    );
    const empty = await soap(
      emulator,
      `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="${appointment.Id.UniqueId}"/><t:Updates/></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
      { impersonate: alice },
    );
    expect(codeOf(empty)).toBe('ErrorSchemaValidation');
    // The admin API with no changes is no change either.
    emulator.admin.updateItem(alice, appointment.Id.UniqueId, {});
    expect(emulator.admin.item(alice, appointment.Id.UniqueId).changeKey).toBe(appointment.Id.ChangeKey);
    expect((await watch.GetEvents()).ItemEvents).toEqual([]);
  });

  it('answers the attributes Exchange requires for calendar items and messages with their error codes', async () => {
    const before = mailboxState(emulator);
    const create = (attributes: string, item: string) =>
      soap(emulator, `<m:CreateItem${attributes}><m:Items>${item}</m:Items></m:CreateItem>`, { impersonate: alice });
    const appointment = '<t:CalendarItem><t:Subject>No invitations said</t:Subject></t:CalendarItem>';
    const message = '<t:Message><t:Subject>No disposition said</t:Subject></t:Message>';
    expect(codeOf(await create('', appointment))).toBe('ErrorSendMeetingInvitationsRequired');
    expect(codeOf(await create(' SendMeetingInvitations="SendToNone"', message))).toBe(
      'ErrorMessageDispositionRequired',
    );
    expect(mailboxState(emulator)).toEqual(before);

    const existing = await newAppointment('Attributes');
    const draft = emulator.admin.createItem(alice, { kind: 'Message', Subject: 'Draft' });
    const setSubject = (id: string, element: string, attributes: string) =>
      soap(
        emulator,
        `<m:UpdateItem ConflictResolution="AlwaysOverwrite"${attributes}><m:ItemChanges><t:ItemChange><t:ItemId Id="${id}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:${element}><t:Subject>New</t:Subject></t:${element}></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
        { impersonate: alice },
      );
    expect(codeOf(await setSubject(existing.Id.UniqueId, 'CalendarItem', ''))).toBe(
      'ErrorSendMeetingInvitationsOrCancellationsRequired',
    );
    expect(codeOf(await setSubject(draft?.id ?? '', 'Message', ''))).toBe('ErrorMessageDispositionRequired');
    const remove = await soap(
      emulator,
      `<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="${existing.Id.UniqueId}"/></m:ItemIds></m:DeleteItem>`,
      { impersonate: alice },
    );
    expect(codeOf(remove)).toBe('ErrorSendMeetingCancellationsRequired');
    expect(emulator.admin.item(alice, existing.Id.UniqueId).properties.Subject).toBe('Attributes');
    expect(emulator.admin.item(alice, draft?.id ?? '').properties.Subject).toBe('Draft');
  });

  it('appends to a body with AppendToItemField, and refuses to append to a subject', async () => {
    const task = emulator.admin.createItem(alice, { kind: 'Task', Subject: 'Append', Body: 'first line' });
    const append = (uri: string, element: string) =>
      soap(
        emulator,
        `<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="${task?.id}"/><t:Updates><t:AppendToItemField><t:FieldURI FieldURI="${uri}"/><t:Task>${element}</t:Task></t:AppendToItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
        { impersonate: alice },
      );
    expect((await append('item:Body', '<t:Body BodyType="Text">, second line</t:Body>')).text).toContain(
      'ResponseClass="Success"',
    );
    expect(emulator.admin.item(alice, task?.id ?? '').properties.Body).toEqual({
      BodyType: 'Text',
      value: 'first line, second line',
    });
    expect((await append('item:Subject', '<t:Subject>more</t:Subject>')).text).toContain(
      '<m:ResponseCode>ErrorInvalidPropertyAppend</m:ResponseCode>',
    );
  });
});

describe('DeleteItem', () => {
  it('moves an item to Deleted Items under a new id, or deletes it for good', async () => {
    const moved = await newAppointment('To the bin');
    await moved.Delete(DeleteMode.MoveToDeletedItems, SendCancellationsMode.SendToNone);
    expect(await errorCodeOf(() => Item.Bind(service, moved.Id, PropertySet.IdOnly))).toBe('ErrorItemNotFound');
    expect(emulator.admin.items(alice, 'deleteditems').map((i) => i.properties.Subject)).toContain('To the bin');

    const gone = await newAppointment('Gone');
    await gone.Delete(DeleteMode.HardDelete, SendCancellationsMode.SendToNone);
    expect(await errorCodeOf(() => Item.Bind(service, gone.Id, PropertySet.IdOnly))).toBe('ErrorItemNotFound');
    expect(emulator.admin.items(alice).map((i) => i.properties.Subject)).not.toContain('Gone');
  });
});

describe('request versions', () => {
  it('shows each version the properties it knows: MeetingTimeZone to Exchange2007_SP1, StartTimeZone from Exchange2010', async () => {
    const created = await newAppointment('Versioned');
    const old = await Appointment.Bind(
      ewsService(emulator, alice, { version: ExchangeVersion.Exchange2007_SP1 }),
      created.Id,
    );
    expect(old.Subject).toBe('Versioned');
    const recorded = emulator.admin.recordedOperations().GetItem ?? 0;
    expect(recorded).toBeGreaterThan(0);
    const answer = await soap(
      emulator,
      `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="${created.Id.UniqueId}"/></m:ItemIds></m:GetItem>`,
      { impersonate: alice, version: 'Exchange2007_SP1' },
    );
    expect(answer.text).toContain('<t:MeetingTimeZone');
    expect(answer.text).not.toContain('<t:StartTimeZone');
    const current = await soap(
      emulator,
      `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="${created.Id.UniqueId}"/></m:ItemIds></m:GetItem>`,
      { impersonate: alice, version: 'Exchange2013_SP1' },
    );
    expect(current.text).toMatch(/<t:StartTimeZone Id="[^"]+"/);
    expect(current.text).not.toContain('<t:MeetingTimeZone');
  });
});
