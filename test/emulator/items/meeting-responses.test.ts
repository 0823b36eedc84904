import {
  Appointment,
  BodyType,
  DateTime,
  EmailAddress,
  EmailMessage,
  type ExchangeService,
  type Item,
  ItemView,
  MeetingCancellation,
  MeetingRequest,
  MeetingResponse,
  MeetingResponseType,
  MessageBody,
  PropertySet,
  Recurrence,
  SendInvitationsMode,
  ServiceError,
  ServiceResponseException,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { ewsService, soap, startTestEmulator } from '../support/harness.js';

/**
 * Answering meetings as Exchange does (docs/emulator.md, "Meeting responses"): CreateItem with AcceptItem,
 * TentativelyAcceptItem, DeclineItem, CancelCalendarItem, RemoveItem, ReplyToItem, ReplyAllToItem and ForwardItem,
 * driven through ews-javascript-api; every request and answer is checked against the schema in afterAll.
 */

const emulator = await startTestEmulator({
  mailboxes: ['alice@contoso.test', 'bob@contoso.test', 'carol@contoso.test'],
});
const alice = ewsService(emulator, 'alice@contoso.test');
const bob = ewsService(emulator, 'bob@contoso.test');
const carol = ewsService(emulator, 'carol@contoso.test');

async function meeting(subject: string, attendees = ['bob@contoso.test', 'carol@contoso.test']) {
  const appointment = new Appointment(alice);
  appointment.Subject = subject;
  appointment.Body = new MessageBody(BodyType.Text, 'Agenda: everything');
  appointment.Start = new DateTime(Date.UTC(2024, 8, 2, 13));
  appointment.End = new DateTime(Date.UTC(2024, 8, 2, 14));
  for (const attendee of attendees) appointment.RequiredAttendees.Add(attendee);
  await appointment.Save(SendInvitationsMode.SendToAllAndSaveCopy);
  return appointment;
}

async function itemsIn(service: ExchangeService, folder: WellKnownFolderName): Promise<Item[]> {
  const found = await service.FindItems(folder, new ItemView(100));
  return found.Items;
}

async function copyOf(service: ExchangeService, subject: string): Promise<Appointment | undefined> {
  const item = (await itemsIn(service, WellKnownFolderName.Calendar)).find((i) => i.Subject === subject);
  return item ? Appointment.Bind(service, item.Id, PropertySet.FirstClassProperties) : undefined;
}

async function requestOf(service: ExchangeService, subject: string): Promise<MeetingRequest> {
  const item = (await itemsIn(service, WellKnownFolderName.Inbox)).find(
    (i) => i.Subject === subject && i instanceof MeetingRequest,
  );
  if (!item) throw new Error(`no meeting request ${subject}`);
  return MeetingRequest.Bind(service, item.Id, PropertySet.FirstClassProperties);
}

async function responsesTo(subject: string): Promise<MeetingResponse[]> {
  const found = (await itemsIn(alice, WellKnownFolderName.Inbox)).filter((i) => i.Subject.endsWith(`: ${subject}`));
  return Promise.all(found.map((i) => MeetingResponse.Bind(alice, i.Id, PropertySet.FirstClassProperties)));
}

async function attendeeResponse(organized: Appointment, address: string) {
  const mine = await Appointment.Bind(alice, organized.Id, PropertySet.FirstClassProperties);
  const attendee = mine.RequiredAttendees.GetEnumerator().find((a) => a.Address === address);
  return { type: attendee?.ResponseType, last: attendee?.LastResponseTime, changeKey: mine.Id.ChangeKey };
}

async function failure(action: Promise<unknown>): Promise<string> {
  try {
    await action;
  } catch (error) {
    if (error instanceof ServiceResponseException) return ServiceError[error.ErrorCode];
    throw error;
  }
  throw new Error('expected the request to fail');
}

describe('meeting responses', () => {
  it("Appointment.Accept(true): the attendee's copy is accepted, the organizer gets a response and sees it", async () => {
    const organized = await meeting('Planning');
    const before = await attendeeResponse(organized, 'bob@contoso.test');
    const copy = await copyOf(bob, 'Planning');
    const results = await copy?.Accept(true);

    expect(results?.Appointment?.Id.UniqueId).toBe(copy?.Id.UniqueId);
    const accepted = await copyOf(bob, 'Planning');
    expect(accepted?.MyResponseType).toBe(MeetingResponseType.Accept);
    expect(accepted?.AppointmentReplyTime).toBeDefined();

    const [response] = await responsesTo('Planning');
    expect(response?.Subject).toBe('Accepted: Planning');
    expect(response?.ItemClass).toBe('IPM.Schedule.Meeting.Resp.Pos');
    expect(response?.From.Address).toBe('bob@contoso.test');
    expect(response?.ICalUid).toBe(copy?.ICalUid);
    expect(response?.IsRead).toBe(false);
    // The response points at the organizer's meeting.
    expect(response?.AssociatedAppointmentId?.UniqueId).toBe(organized.Id.UniqueId);

    const after = await attendeeResponse(organized, 'bob@contoso.test');
    expect(after.type).toBe(MeetingResponseType.Accept);
    expect(after.last).toBeDefined();
    expect(after.changeKey).not.toBe(before.changeKey);
    // Carol has not answered.
    expect((await attendeeResponse(organized, 'carol@contoso.test')).type).not.toBe(MeetingResponseType.Accept);
    // SendAndSaveCopy: the attendee keeps the response in Sent Items.
    expect((await itemsIn(bob, WellKnownFolderName.SentItems)).map((i) => i.Subject)).toContain('Accepted: Planning');
  });

  it('MeetingRequest.Accept(true) answers from the Inbox: the request goes to Deleted Items', async () => {
    await meeting('Standup');
    const request = await requestOf(carol, 'Standup');
    const results = await request.Accept(true);
    expect(results.Appointment).toBeDefined();
    expect(results.MeetingRequest).toBeDefined();
    const deleted = await itemsIn(carol, WellKnownFolderName.DeletedItems);
    expect(deleted.map((i) => i.Id.UniqueId)).toContain(results.MeetingRequest?.Id.UniqueId);
    expect((await itemsIn(carol, WellKnownFolderName.Inbox)).some((i) => i.Subject === 'Standup')).toBe(false);
    expect((await copyOf(carol, 'Standup'))?.MyResponseType).toBe(MeetingResponseType.Accept);
    expect((await responsesTo('Standup')).map((r) => r.From.Address)).toEqual(['carol@contoso.test']);
  });

  it('AcceptTentatively(true) and Decline(true): tentative stays busy-tentative, a decline leaves the calendar', async () => {
    const organized = await meeting('Offsite');
    await (await copyOf(bob, 'Offsite'))?.AcceptTentatively(true);
    const tentative = await copyOf(bob, 'Offsite');
    expect(tentative?.MyResponseType).toBe(MeetingResponseType.Tentative);
    expect((await attendeeResponse(organized, 'bob@contoso.test')).type).toBe(MeetingResponseType.Tentative);

    const declined = await (await requestOf(carol, 'Offsite')).Decline(true);
    expect(await copyOf(carol, 'Offsite')).toBeUndefined();
    const deleted = await itemsIn(carol, WellKnownFolderName.DeletedItems);
    expect(deleted.map((i) => i.Id.UniqueId)).toContain(declined.Appointment?.Id.UniqueId);
    expect((await attendeeResponse(organized, 'carol@contoso.test')).type).toBe(MeetingResponseType.Decline);

    const classes = (await responsesTo('Offsite')).map((r) => [r.Subject, r.ItemClass]);
    expect(classes).toEqual(
      expect.arrayContaining([
        ['Tentative: Offsite', 'IPM.Schedule.Meeting.Resp.Tent'],
        ['Declined: Offsite', 'IPM.Schedule.Meeting.Resp.Neg'],
      ]),
    );
  });

  it('Decline(false) saves the response in Drafts and sends nothing until the draft is sent', async () => {
    const organized = await meeting('Budget', ['bob@contoso.test']);
    const before = await attendeeResponse(organized, 'bob@contoso.test');
    const results = await (await copyOf(bob, 'Budget'))?.Decline(false);
    expect(results?.MeetingResponse?.Id.UniqueId).toBeDefined();
    const drafts = await itemsIn(bob, WellKnownFolderName.Drafts);
    expect(drafts.map((i) => i.Subject)).toContain('Declined: Budget');
    expect(await responsesTo('Budget')).toEqual([]);
    expect(await attendeeResponse(organized, 'bob@contoso.test')).toEqual(before);
    expect(await copyOf(bob, 'Budget')).toBeDefined();

    // Sending the draft later (SendItem) answers then: the organizer hears, the meeting leaves the calendar.
    const draft = await MeetingResponse.Bind(bob, results?.MeetingResponse?.Id ?? organized.Id);
    await draft.SendAndSaveCopy();
    expect((await responsesTo('Budget')).map((r) => r.Subject)).toEqual(['Declined: Budget']);
    expect((await attendeeResponse(organized, 'bob@contoso.test')).type).toBe(MeetingResponseType.Decline);
    expect(await copyOf(bob, 'Budget')).toBeUndefined();
    expect((await itemsIn(bob, WellKnownFolderName.SentItems)).map((i) => i.Subject)).toContain('Declined: Budget');
  });

  it('an answer to one occurrence makes it an exception with its own response; the series keeps its own', async () => {
    const series = new Appointment(alice);
    series.Subject = 'Daily sync';
    series.Start = new DateTime(Date.UTC(2024, 8, 2, 9));
    series.End = new DateTime(Date.UTC(2024, 8, 2, 9, 15));
    // The library's typings declare only the constructor without arguments on Recurrence.DailyPattern.
    const Daily = Recurrence.DailyPattern as unknown as new (start: DateTime, interval: number) => Recurrence;
    const pattern = new Daily(series.Start, 1);
    pattern.NumberOfOccurrences = 5;
    series.Recurrence = pattern;
    series.RequiredAttendees.Add('bob@contoso.test');
    await series.Save(SendInvitationsMode.SendToAllAndSaveCopy);
    const copy = await copyOf(bob, 'Daily sync');
    if (!copy) throw new Error('no copy');

    const second = await Appointment.BindToOccurrence(bob, copy.Id, 2);
    await second.Accept(true);
    expect((await Appointment.BindToOccurrence(bob, copy.Id, 2)).MyResponseType).toBe(MeetingResponseType.Accept);
    expect((await Appointment.BindToOccurrence(bob, copy.Id, 3)).MyResponseType).toBe(
      MeetingResponseType.NoResponseReceived,
    );
    await (await Appointment.BindToOccurrence(bob, copy.Id, 3)).Decline(true);
    expect(await failure(Appointment.BindToOccurrence(bob, copy.Id, 3))).toBe(
      'ErrorCalendarOccurrenceIsDeletedFromRecurrence',
    );

    const answers = await responsesTo('Daily sync');
    expect(answers.map((r) => [r.Subject, r.Start.TotalMilliSeconds])).toEqual(
      expect.arrayContaining([
        ['Accepted: Daily sync', Date.UTC(2024, 8, 3, 9)],
        ['Declined: Daily sync', Date.UTC(2024, 8, 4, 9)],
      ]),
    );
    // The organizer's series still waits for bob's answer to the whole series.
    expect((await attendeeResponse(series, 'bob@contoso.test')).last).toBeNull();
  });

  it('refuses the organizer answering their own meeting', async () => {
    const organized = await meeting('Mine', ['bob@contoso.test']);
    expect(await failure(organized.Accept(true))).toBe('ErrorCalendarIsOrganizerForAccept');
    expect(await failure(organized.Decline(true))).toBe('ErrorCalendarIsOrganizerForDecline');
  });

  it('CancelMeeting: attendees get the cancellation and a cancelled copy, then RemoveItem takes it away', async () => {
    const organized = await meeting('Picnic');
    const results = await organized.CancelMeeting('Rain all day.');
    // The organizer's meeting went to Deleted Items; the answer names it.
    expect(await copyOf(alice, 'Picnic')).toBeUndefined();
    const deleted = await itemsIn(alice, WellKnownFolderName.DeletedItems);
    expect(deleted.map((i) => i.Id.UniqueId)).toContain(results.Appointment?.Id.UniqueId);
    expect((await itemsIn(alice, WellKnownFolderName.SentItems)).map((i) => i.Subject)).toContain('Canceled: Picnic');

    const cancelledCopy = await copyOf(bob, 'Canceled: Picnic');
    expect(cancelledCopy?.IsCancelled).toBe(true);
    expect(await failure(cancelledCopy?.Accept(true) as Promise<unknown>)).toBe('ErrorCalendarIsCancelledForAccept');

    const notice = (await itemsIn(bob, WellKnownFolderName.Inbox)).find(
      (i) => i instanceof MeetingCancellation && i.Subject === 'Canceled: Picnic',
    );
    const cancellation = await MeetingCancellation.Bind(
      bob,
      notice?.Id ?? organized.Id,
      PropertySet.FirstClassProperties,
    );
    expect(cancellation.Body.Text).toContain('Rain all day.');
    // The answer's Items is empty; ews-javascript-api then fails to build its CalendarActionResults (its
    // CreateItemResponseBase leaves the items undefined where the C# API reads an empty list).
    await cancellation.RemoveMeetingFromCalendar().catch((error: unknown) => {
      if (!(error instanceof TypeError)) throw error;
    });
    expect(await copyOf(bob, 'Canceled: Picnic')).toBeUndefined();
    const inbox = await itemsIn(bob, WellKnownFolderName.Inbox);
    expect(inbox.some((i) => i.Subject === 'Canceled: Picnic')).toBe(false);
  });

  it('RemoveItem takes only a meeting cancellation', async () => {
    await meeting('Still on', ['bob@contoso.test']);
    const copy = await copyOf(bob, 'Still on');
    const answer = await soap(
      emulator,
      `<m:CreateItem><m:Items><t:RemoveItem><t:ReferenceItemId Id="${copy?.Id.UniqueId}"/></t:RemoveItem></m:Items></m:CreateItem>`,
      { impersonate: 'bob@contoso.test' },
    );
    expect(answer.text).toContain('ErrorInvalidOperation');
    expect(await copyOf(bob, 'Still on')).toBeDefined();
  });

  it("answers Microsoft's example (AcceptItem with a body and a proposed time, no MessageDisposition)", async () => {
    const organized = await meeting('Kick-off', ['bob@contoso.test']);
    const request = await requestOf(bob, 'Kick-off');
    const answer = await soap(
      emulator,
      '<m:CreateItem><m:Items><t:AcceptItem>' +
        '<t:Body BodyType="Text">This time works better for the HiPPO.</t:Body>' +
        `<t:ReferenceItemId Id="${request.Id.UniqueId}" ChangeKey="${request.Id.ChangeKey}"/>` +
        '<t:ProposedStart>2024-09-05T04:00:00Z</t:ProposedStart><t:ProposedEnd>2024-09-05T04:30:00Z</t:ProposedEnd>' +
        '</t:AcceptItem></m:Items></m:CreateItem>',
      { impersonate: 'bob@contoso.test', version: 'Exchange2013' },
    );
    expect(answer.status).toBe(200);
    // The attendee's calendar item, then the request moved to Deleted Items, as in Microsoft's example answer.
    expect(answer.text).toMatch(
      /<m:Items><t:CalendarItem><t:ItemId [^>]*\/><\/t:CalendarItem><t:MeetingRequest><t:ItemId [^>]*\/><\/t:MeetingRequest><\/m:Items>/,
    );
    const [response] = await responsesTo('Kick-off');
    expect(response?.ProposedStart?.TotalMilliSeconds).toBe(Date.UTC(2024, 8, 5, 4));
    expect(response?.ProposedEnd?.TotalMilliSeconds).toBe(Date.UTC(2024, 8, 5, 4, 30));
    expect(response?.Body.Text).toContain('HiPPO');
    expect((await attendeeResponse(organized, 'bob@contoso.test')).type).toBe(MeetingResponseType.Accept);
  });
});

describe('replies and forwards', () => {
  async function received(subject: string, attachment?: string) {
    const mail = new EmailMessage(alice);
    mail.Subject = subject;
    mail.Body = new MessageBody(BodyType.Text, 'Original text');
    mail.ToRecipients.Add('bob@contoso.test');
    mail.CcRecipients.Add('carol@contoso.test');
    if (attachment) mail.Attachments.AddFileAttachment(attachment, Buffer.from('figures').toString('base64'));
    await mail.SendAndSaveCopy();
    const item = (await itemsIn(bob, WellKnownFolderName.Inbox)).find((i) => i.Subject === subject);
    return EmailMessage.Bind(bob, item?.Id ?? mail.Id, PropertySet.FirstClassProperties);
  }

  async function inboxMessage(service: ExchangeService, subject: string) {
    const item = (await itemsIn(service, WellKnownFolderName.Inbox)).find((i) => i.Subject === subject);
    return item ? EmailMessage.Bind(service, item.Id, PropertySet.FirstClassProperties) : undefined;
  }

  it('Reply goes to the sender with the new text above the original, and is kept in Sent Items', async () => {
    const original = await received('Question');
    await original.Reply(new MessageBody(BodyType.Text, 'Answer: yes'), false);
    const reply = await inboxMessage(alice, 'RE: Question');
    expect(reply?.From.Address).toBe('bob@contoso.test');
    expect(reply?.Body.Text).toContain('Answer: yes');
    expect(reply?.Body.Text).toContain('Original text');
    expect(await inboxMessage(carol, 'RE: Question')).toBeUndefined();
    expect((await itemsIn(bob, WellKnownFolderName.SentItems)).map((i) => i.Subject)).toContain('RE: Question');
  });

  it('ReplyAll goes to the sender and the other recipients, not to oneself', async () => {
    const original = await received('Lunch');
    await original.Reply(new MessageBody(BodyType.HTML, 'Count me in'), true);
    expect((await inboxMessage(alice, 'RE: Lunch'))?.Body.Text).toContain('Count me in');
    expect(await inboxMessage(carol, 'RE: Lunch')).toBeDefined();
    expect(await inboxMessage(bob, 'RE: Lunch')).toBeUndefined();
  });

  it('a reply saved (SaveOnly) is a draft in Drafts, sent to nobody, that SendItem sends later', async () => {
    const original = await received('Draft me');
    const reply = original.CreateReply(false);
    reply.BodyPrefix = new MessageBody(BodyType.Text, 'Later');
    const draft = await reply.Save();
    const drafts = await itemsIn(bob, WellKnownFolderName.Drafts);
    expect(drafts.map((i) => i.Id.UniqueId)).toContain(draft.Id.UniqueId);
    expect(await inboxMessage(alice, 'RE: Draft me')).toBeUndefined();
    await (await EmailMessage.Bind(bob, draft.Id)).SendAndSaveCopy();
    expect((await inboxMessage(alice, 'RE: Draft me'))?.Body.Text).toContain('Later');
  });

  it("Forward goes to the named recipients only, with the original's attachments", async () => {
    const original = await received('Report', 'q3.csv');
    await original.Forward(new MessageBody(BodyType.Text, 'FYI'), [new EmailAddress('carol@contoso.test')]);
    const forwarded = await inboxMessage(carol, 'FW: Report');
    expect(forwarded?.Body.Text).toContain('FYI');
    expect(forwarded?.Body.Text).toContain('Original text');
    const names = original.Attachments.GetEnumerator().map((a) => a.Name);
    expect(names).toContain('q3.csv');
    expect(forwarded?.Attachments.GetEnumerator().map((a) => a.Name)).toEqual(names);
    expect(await inboxMessage(alice, 'FW: Report')).toBeUndefined();
    // The sent copy's attachment is its own, not the original's.
    const sent = (await itemsIn(bob, WellKnownFolderName.SentItems)).find((i) => i.Subject === 'FW: Report');
    const copy = await EmailMessage.Bind(bob, sent?.Id ?? original.Id, PropertySet.FirstClassProperties);
    const [sentAttachment] = copy.Attachments.GetEnumerator();
    expect(sentAttachment?.Name).toBe('q3.csv');
    expect(sentAttachment?.Id).not.toBe(original.Attachments.GetEnumerator()[0]?.Id);
  });
});
