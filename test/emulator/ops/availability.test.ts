import {
  AttendeeInfo,
  AvailabilityData,
  AvailabilityOptions,
  DateTime,
  FreeBusyViewType,
  LegacyFreeBusyStatus,
  ServiceResult,
  TimeWindow,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { codeOf, ewsService, soap, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const alice = ewsService(emulator, 'alice@contoso.test');

function appointment(user: string, subject: string, start: string, end: string, status: string): void {
  emulator.admin.createItem(user, {
    kind: 'CalendarItem',
    Subject: subject,
    Start: start,
    End: end,
    LegacyFreeBusyStatus: status,
  });
}

appointment('alice@contoso.test', 'Standup', '2027-03-01T09:00:00Z', '2027-03-01T10:00:00Z', 'Busy');
appointment('alice@contoso.test', 'Maybe', '2027-03-01T09:30:00Z', '2027-03-01T11:00:00Z', 'Tentative');
appointment('alice@contoso.test', 'Lunch walk', '2027-03-01T13:00:00Z', '2027-03-01T14:00:00Z', 'Free');
appointment('alice@contoso.test', 'Dentist', '2027-03-01T15:00:00Z', '2027-03-01T16:00:00Z', 'OOF');
appointment('alice@contoso.test', 'Next day', '2027-03-02T09:00:00Z', '2027-03-02T10:00:00Z', 'Busy');
appointment('bob@contoso.test', 'Private review', '2027-03-01T12:00:00Z', '2027-03-01T12:30:00Z', 'Busy');

const day = new TimeWindow(DateTime.Parse('2027-03-01T00:00:00Z'), DateTime.Parse('2027-03-02T00:00:00Z'));

describe('GetUserAvailability', () => {
  it('answers free/busy from the calendars of the mailboxes asked, through ews-javascript-api', async () => {
    const options = new AvailabilityOptions();
    options.RequestedFreeBusyView = FreeBusyViewType.DetailedMerged;
    options.MergedFreeBusyInterval = 60;
    const results = await alice.GetUserAvailability(
      [
        new AttendeeInfo('alice@contoso.test'),
        new AttendeeInfo('bob@contoso.test'),
        new AttendeeInfo('nobody@contoso.test'),
      ],
      day,
      AvailabilityData.FreeBusy,
      options,
    );
    const [own, bob, nobody] = results.AttendeesAvailability.Responses;

    // Her own calendar in detail: the free appointment and the next day's are not in it.
    expect(own?.Result).toBe(ServiceResult.Success);
    expect(FreeBusyViewType[own?.ViewType ?? 0]).toBe('DetailedMerged');
    const events = own?.CalendarEvents ?? [];
    expect(
      events.map((e) => [e.StartTime.ToISOString(), e.EndTime.ToISOString(), LegacyFreeBusyStatus[e.FreeBusyStatus]]),
    ).toEqual([
      ['2027-03-01T09:00:00.000Z', '2027-03-01T10:00:00.000Z', 'Busy'],
      ['2027-03-01T09:30:00.000Z', '2027-03-01T11:00:00.000Z', 'Tentative'],
      ['2027-03-01T15:00:00.000Z', '2027-03-01T16:00:00.000Z', 'OOF'],
    ]);
    expect(events.map((e) => e.Details?.Subject)).toEqual(['Standup', 'Maybe', 'Dentist']);
    // One status per hour, the strongest of the hour: busy over tentative at 9:00.
    expect((own?.MergedFreeBusyStatus ?? []).map((s) => LegacyFreeBusyStatus[s]).join(',')).toBe(
      [...'000000000210000300000000'].map((d) => ['Free', 'Tentative', 'Busy', 'OOF'][Number(d)]).join(','),
    );
    expect(own?.WorkingHours?.DaysOfTheWeek.length).toBe(5);
    expect([own?.WorkingHours?.StartTime.TotalMinutes, own?.WorkingHours?.EndTime.TotalMinutes]).toEqual([480, 1020]);

    // Another mailbox's calendar: times and status only, as Exchange's default permission shares it.
    expect(FreeBusyViewType[bob?.ViewType ?? 0]).toBe('FreeBusyMerged');
    expect(bob?.CalendarEvents.map((e) => [e.StartTime.ToISOString(), e.Details ?? 'no details'])).toEqual([
      ['2027-03-01T12:00:00.000Z', 'no details'],
    ]);

    expect(nobody?.Result).toBe(ServiceResult.Error);
    expect(nobody?.ErrorCode).toBeDefined();
    expect(String(nobody?.ErrorMessage)).toContain('nobody@contoso.test');
  });

  it("reads and writes times in the request's t:TimeZone (Exchange 2007 SP1), with its daylight rule", async () => {
    const pacific =
      '<t:TimeZone><t:Bias>480</t:Bias>' +
      '<t:StandardTime><t:Bias>0</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>1</t:DayOrder><t:Month>11</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime>' +
      '<t:DaylightTime><t:Bias>-60</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>2</t:DayOrder><t:Month>3</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime>' +
      '</t:TimeZone>';
    const request = (start: string, end: string, view: string) =>
      `<m:GetUserAvailabilityRequest>${pacific}` +
      '<m:MailboxDataArray><t:MailboxData><t:Email><t:Address>alice@contoso.test</t:Address></t:Email>' +
      '<t:AttendeeType>Required</t:AttendeeType></t:MailboxData></m:MailboxDataArray>' +
      `<t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>${start}</t:StartTime><t:EndTime>${end}</t:EndTime></t:TimeWindow>` +
      `<t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>${view}</t:RequestedView>` +
      '</t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>';
    // 1 March 2027 is in Pacific standard time (UTC-8): 9:00 UTC is 1:00 there; the next day's 9:00 UTC is not in
    // the Pacific day.
    const answer = await soap(emulator, request('2027-03-01T00:00:00', '2027-03-02T00:00:00', 'FreeBusy'), {
      impersonate: 'alice@contoso.test',
      version: 'Exchange2007_SP1',
    });
    expect(codeOf(answer)).toBe('NoError');
    const starts = [...answer.text.matchAll(/<t:StartTime>([^<]+)<\/t:StartTime>/g)].map((m) => m[1]);
    expect(starts).toEqual(['2027-03-01T01:00:00', '2027-03-01T01:30:00', '2027-03-01T07:00:00']);
    expect(answer.text).not.toContain('CalendarEventDetails');
    // MergedOnly, four Pacific hours of 2 March: the next day's 9:00 UTC (1:00 there) is the second.
    const merged = await soap(emulator, request('2027-03-02T00:00:00', '2027-03-02T04:00:00', 'MergedOnly'), {
      impersonate: 'alice@contoso.test',
      version: 'Exchange2007_SP1',
    });
    expect(/<t:MergedFreeBusy>(\d+)<\/t:MergedFreeBusy>/.exec(merged.text)?.[1]).toBe('0200');
    expect(merged.text).not.toContain('CalendarEventArray');
  });

  it('refuses a window that ends before it starts or spans more than 62 days, as SOAP faults', async () => {
    const request = (start: string, end: string, interval = 30) =>
      '<m:GetUserAvailabilityRequest><m:MailboxDataArray><t:MailboxData><t:Email><t:Address>alice@contoso.test</t:Address></t:Email>' +
      '<t:AttendeeType>Required</t:AttendeeType></t:MailboxData></m:MailboxDataArray>' +
      `<t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>${start}</t:StartTime><t:EndTime>${end}</t:EndTime></t:TimeWindow>` +
      `<t:MergedFreeBusyIntervalInMinutes>${interval}</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>FreeBusy</t:RequestedView>` +
      '</t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>';
    const options = { impersonate: 'alice@contoso.test' };
    const backwards = await soap(emulator, request('2027-03-02T00:00:00', '2027-03-01T00:00:00'), options);
    expect([backwards.status, codeOf(backwards)]).toEqual([500, 'ErrorInvalidTimeInterval']);
    const long = await soap(emulator, request('2027-01-01T00:00:00', '2027-03-05T00:00:00'), options);
    expect([long.status, codeOf(long)]).toEqual([500, 'ErrorTimeIntervalTooBig']);
    const interval = await soap(emulator, request('2027-03-01T00:00:00', '2027-03-02T00:00:00', 2), options);
    expect([interval.status, codeOf(interval)]).toEqual([500, 'ErrorInvalidMergedFreeBusyInterval']);
  });
});
