import {
  Appointment,
  BasePropertySet,
  ConflictResolutionMode,
  DateTime,
  DeleteMode,
  ExtendedPropertyDefinition,
  Guid,
  ItemView,
  MapiPropertyType,
  MeetingRequest,
  MeetingRequestType,
  MeetingResponseType,
  PropertySet,
  SendCancellationsMode,
  SendInvitationsMode,
  SendInvitationsOrCancellationsMode,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../../emulator/index.js';
import { ewsService, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator({
  mailboxes: ['alice@contoso.test', 'bob@contoso.test', 'carol@contoso.test'],
});
const copying = await startTestEmulator({ copyExtendedPropertiesToAttendees: true });
const appItemId = new ExtendedPropertyDefinition(
  new Guid('c11ff724-aa03-4555-9952-8fa248a11c3e'),
  'exh_app_item_id',
  MapiPropertyType.String,
);
const withAppId = new PropertySet(BasePropertySet.FirstClassProperties, [appItemId]);

async function meeting(
  target: RunningEmulator,
  subject: string,
  attendees: string[],
  mode = SendInvitationsMode.SendToAllAndSaveCopy,
) {
  const appointment = new Appointment(ewsService(target, 'alice@contoso.test'));
  appointment.Subject = subject;
  appointment.Start = new DateTime(Date.UTC(2024, 8, 2, 13));
  appointment.End = new DateTime(Date.UTC(2024, 8, 2, 14));
  for (const attendee of attendees) appointment.RequiredAttendees.Add(attendee);
  appointment.SetExtendedProperty(appItemId, 'APP-42');
  await appointment.Save(mode);
  return appointment;
}

async function calendarOf(target: RunningEmulator, user: string) {
  const service = ewsService(target, user);
  const found = await service.FindItems(WellKnownFolderName.Calendar, new ItemView(50));
  return Promise.all(found.Items.map((i) => Appointment.Bind(service, i.Id, withAppId)));
}

function appIdOf(appointment: Appointment): unknown {
  const value = { outValue: null as unknown };
  appointment.ExtendedProperties.TryGetValue(appItemId, value);
  return value.outValue;
}

describe('meeting invitations', () => {
  it('gives each attendee with a mailbox a meeting request and a calendar copy with the same UID', async () => {
    const organized = await meeting(emulator, 'Quarterly', [
      'bob@contoso.test',
      'carol@contoso.test',
      'partner@example.test',
    ]);
    const mine = await Appointment.Bind(ewsService(emulator, 'alice@contoso.test'), organized.Id, withAppId);
    expect(mine.IsMeeting).toBe(true);
    expect(mine.MeetingRequestWasSent).toBe(true);
    expect(mine.MyResponseType).toBe(MeetingResponseType.Organizer);

    for (const attendee of ['bob@contoso.test', 'carol@contoso.test']) {
      const [copy] = (await calendarOf(emulator, attendee)).filter((a) => a.Subject === 'Quarterly');
      expect(copy?.ICalUid).toBe(mine.ICalUid);
      expect(copy?.Organizer.Address).toBe('alice@contoso.test');
      expect(copy?.MyResponseType).toBe(MeetingResponseType.NoResponseReceived);
      // The organizer's custom extended property stays with the organizer, as on Exchange.
      expect(appIdOf(copy as Appointment)).toBeNull();

      const service = ewsService(emulator, attendee);
      const inbox = await service.FindItems(WellKnownFolderName.Inbox, new ItemView(10));
      const request = await MeetingRequest.Bind(
        service,
        inbox.Items[0]?.Id ?? organized.Id,
        PropertySet.FirstClassProperties,
      );
      expect(request.ICalUid).toBe(mine.ICalUid);
      expect(request.MeetingRequestType).toBe(MeetingRequestType.NewMeetingRequest);
      expect(request.IsRead).toBe(false);
    }
    const sent = emulator.admin.items('alice@contoso.test', 'sentitems');
    expect(sent.filter((i) => i.kind === 'MeetingRequest').map((i) => i.properties.Subject)).toContain('Quarterly');
  });

  it("carries the organizer's extended properties only when the emulator is told to", async () => {
    await meeting(copying, 'Copied', ['bob@contoso.test']);
    const [copy] = (await calendarOf(copying, 'bob@contoso.test')).filter((a) => a.Subject === 'Copied');
    expect(appIdOf(copy as Appointment)).toBe('APP-42');
  });

  it('sends nothing with SendToNone', async () => {
    await meeting(emulator, 'Quiet', ['bob@contoso.test'], SendInvitationsMode.SendToNone);
    expect((await calendarOf(emulator, 'bob@contoso.test')).some((a) => a.Subject === 'Quiet')).toBe(false);
  });

  it("updates attendees' copies when the organizer changes the meeting", async () => {
    const organized = await meeting(emulator, 'Review', ['bob@contoso.test']);
    organized.Location = 'Room 7';
    organized.Start = new DateTime(Date.UTC(2024, 8, 3, 13));
    organized.End = new DateTime(Date.UTC(2024, 8, 3, 14));
    await organized.Update(ConflictResolutionMode.AutoResolve, SendInvitationsOrCancellationsMode.SendToAllAndSaveCopy);
    const [copy] = (await calendarOf(emulator, 'bob@contoso.test')).filter((a) => a.Subject === 'Review');
    expect(copy?.Location).toBe('Room 7');
    expect(copy?.Start.TotalMilliSeconds).toBe(Date.UTC(2024, 8, 3, 13));
    const requests = emulator.admin.items('bob@contoso.test', 'inbox').filter((i) => i.properties.Subject === 'Review');
    expect(requests.map((r) => r.properties.MeetingRequestType)).toEqual(['NewMeetingRequest', 'FullUpdate']);
  });

  it("cancels attendees' copies when the organizer deletes the meeting with cancellations", async () => {
    const organized = await meeting(emulator, 'Cancelled one', ['bob@contoso.test']);
    await organized.Delete(DeleteMode.MoveToDeletedItems, SendCancellationsMode.SendToAllAndSaveCopy);
    const [copy] = (await calendarOf(emulator, 'bob@contoso.test')).filter(
      (a) => a.Subject === 'Canceled: Cancelled one',
    );
    expect(copy?.IsCancelled).toBe(true);
    const inbox = emulator.admin.items('bob@contoso.test', 'inbox');
    expect(
      inbox.some((i) => i.kind === 'MeetingCancellation' && i.properties.Subject === 'Canceled: Cancelled one'),
    ).toBe(true);
  });
});
