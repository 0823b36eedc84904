import {
  Appointment,
  AppointmentSchema,
  AppointmentType,
  CalendarView,
  ConflictResolutionMode,
  DateTime,
  DayOfTheWeek,
  DeleteMode,
  EmailMessageSchema,
  ExtendedPropertyDefinition,
  Guid,
  ItemSchema,
  ItemView,
  LogicalOperator,
  MapiPropertyType,
  PropertySet,
  Recurrence,
  SearchFilter,
  SendCancellationsMode,
  SendInvitationsMode,
  SendInvitationsOrCancellationsMode,
  SortDirection,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { ewsService, startTestEmulator } from '../support/harness.js';

let clock = Date.UTC(2024, 0, 1, 12);
const emulator = await startTestEmulator({ now: () => clock });
const day = 86_400_000;
const appItemId = new ExtendedPropertyDefinition(
  new Guid('c11ff724-aa03-4555-9952-8fa248a11c3e'),
  'exh_app_item_id',
  MapiPropertyType.String,
);

function mailbox(name: string) {
  const user = `${name}@contoso.test`;
  emulator.admin.addMailbox(user);
  return { user, service: ewsService(emulator, user) };
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16);

describe('CalendarView', () => {
  it('expands a recurring series into occurrences, with an exception and without a deleted occurrence', async () => {
    const { service } = mailbox('series');
    const weekly = new Appointment(service);
    weekly.Subject = 'Weekly';
    weekly.Start = new DateTime(Date.UTC(2024, 0, 1, 9));
    weekly.End = new DateTime(Date.UTC(2024, 0, 1, 10));
    // The library's typings list only the empty constructor; the three-argument one exists at run time.
    const Weekly = Recurrence.WeeklyPattern as unknown as new (
      start: DateTime,
      interval: number,
      days: DayOfTheWeek[],
    ) => Recurrence;
    weekly.Recurrence = new Weekly(weekly.Start.Date, 1, [DayOfTheWeek.Monday]);
    weekly.Recurrence.NumberOfOccurrences = 5;
    await weekly.Save(SendInvitationsMode.SendToNone);

    const second = await Appointment.BindToOccurrence(service, weekly.Id, 2);
    second.Subject = 'Weekly (moved)';
    second.Start = new DateTime(Date.UTC(2024, 0, 9, 13));
    second.End = new DateTime(Date.UTC(2024, 0, 9, 14));
    await second.Update(ConflictResolutionMode.AlwaysOverwrite, SendInvitationsOrCancellationsMode.SendToNone);
    const fourth = await Appointment.BindToOccurrence(service, weekly.Id, 4);
    await fourth.Delete(DeleteMode.MoveToDeletedItems, SendCancellationsMode.SendToNone);

    const view = await service.FindAppointments(
      WellKnownFolderName.Calendar,
      new CalendarView(new DateTime(Date.UTC(2024, 0, 1)), new DateTime(Date.UTC(2024, 1, 1))),
    );
    expect(
      view.Items.map((a) => [iso(a.Start.TotalMilliSeconds), a.Subject, AppointmentType[a.AppointmentType]]),
    ).toEqual([
      ['2024-01-01T09:00', 'Weekly', 'Occurrence'],
      ['2024-01-09T13:00', 'Weekly (moved)', 'Exception'],
      ['2024-01-15T09:00', 'Weekly', 'Occurrence'],
      ['2024-01-29T09:00', 'Weekly', 'Occurrence'],
    ]);

    const master = await Appointment.Bind(service, weekly.Id, PropertySet.FirstClassProperties);
    expect(master.AppointmentType).toBe(AppointmentType.RecurringMaster);
    expect(master.ModifiedOccurrences.Count).toBe(1);
    expect(master.DeletedOccurrences.Count).toBe(1);
    expect(iso(master.DeletedOccurrences._getItem(0).OriginalStart.TotalMilliSeconds)).toBe('2024-01-22T09:00');
    expect(iso(master.LastOccurrence.Start.TotalMilliSeconds)).toBe('2024-01-29T09:00');
    const fromOccurrence = await Appointment.BindToRecurringMaster(service, second.Id);
    expect(fromOccurrence.Id.UniqueId).toBe(weekly.Id.UniqueId);
  });

  it("keeps occurrences at 9:00 in the series' own time zone across daylight saving", async () => {
    const { user, service } = mailbox('zoned');
    emulator.admin.createItem(user, {
      kind: 'CalendarItem',
      Subject: 'Amsterdam standup',
      Start: '2024-03-28T08:00:00Z',
      End: '2024-03-28T08:15:00Z',
      StartTimeZone: 'W. Europe Standard Time',
      Recurrence: {
        DailyRecurrence: { Interval: 1 },
        NumberedRecurrence: { StartDate: '2024-03-28', NumberOfOccurrences: 5 },
      },
    });
    const view = await service.FindAppointments(
      WellKnownFolderName.Calendar,
      new CalendarView(new DateTime(Date.UTC(2024, 2, 1)), new DateTime(Date.UTC(2024, 3, 30))),
    );
    expect(view.Items.map((a) => iso(a.Start.TotalMilliSeconds))).toEqual([
      '2024-03-28T08:00',
      '2024-03-29T08:00',
      '2024-03-30T08:00',
      '2024-03-31T07:00',
      '2024-04-01T07:00',
    ]);
  });

  it('lists single appointments that overlap the window, and nothing outside it', async () => {
    const { user, service } = mailbox('window');
    emulator.admin.createItem(user, {
      kind: 'CalendarItem',
      Subject: 'before',
      Start: '2024-05-01T08:00:00Z',
      End: '2024-05-01T09:00:00Z',
    });
    emulator.admin.createItem(user, {
      kind: 'CalendarItem',
      Subject: 'overlapping',
      Start: '2024-05-01T23:00:00Z',
      End: '2024-05-02T01:00:00Z',
    });
    emulator.admin.createItem(user, {
      kind: 'CalendarItem',
      Subject: 'inside',
      Start: '2024-05-02T10:00:00Z',
      End: '2024-05-02T11:00:00Z',
    });
    const view = await service.FindAppointments(
      WellKnownFolderName.Calendar,
      new CalendarView(new DateTime(Date.UTC(2024, 4, 2)), new DateTime(Date.UTC(2024, 4, 3))),
    );
    expect(view.Items.map((a) => a.Subject)).toEqual(['overlapping', 'inside']);
  });
});

describe('FindItem restrictions', () => {
  it('filters on DateTimeCreated, LastModifiedTime and DateTimeReceived', async () => {
    const { user, service } = mailbox('dates');
    const old = emulator.admin.createItem(user, { kind: 'Message', folder: 'inbox', Subject: 'old' });
    clock += day;
    const middle = emulator.admin.createItem(user, { kind: 'Message', folder: 'inbox', Subject: 'middle' });
    clock += day;
    emulator.admin.createItem(user, { kind: 'Message', folder: 'inbox', Subject: 'new' });
    clock += day;
    emulator.admin.updateItem(user, old?.id ?? '', { Subject: 'old, touched' });
    const cut = new DateTime(clock - 2 * day + 1000);
    const subjects = async (filter: SearchFilter) =>
      (await service.FindItems(WellKnownFolderName.Inbox, filter, new ItemView(50))).Items.map((i) => i.Subject).sort();
    expect(await subjects(new SearchFilter.IsGreaterThan(ItemSchema.DateTimeCreated, cut))).toEqual(['new']);
    expect(
      await subjects(new SearchFilter.IsGreaterThanOrEqualTo(ItemSchema.LastModifiedTime, new DateTime(clock))),
    ).toEqual(['old, touched']);
    expect(
      await subjects(
        new SearchFilter.SearchFilterCollection(LogicalOperator.And, [
          new SearchFilter.IsLessThan(ItemSchema.DateTimeReceived, cut),
          new SearchFilter.IsEqualTo(EmailMessageSchema.IsRead, true),
        ]),
      ),
    ).toEqual(['middle', 'old, touched']);
    expect(middle).toBeDefined();
  });

  it('filters on Start and on an extended property, sorts and pages', async () => {
    const { user, service } = mailbox('starts');
    for (const [subject, startDay, app] of [
      ['b', 3, 'APP-3'],
      ['a', 1, 'APP-1'],
      ['c', 5, 'APP-5'],
    ] as const) {
      emulator.admin.createItem(user, {
        kind: 'CalendarItem',
        Subject: subject,
        Start: `2024-07-0${startDay}T10:00:00Z`,
        End: `2024-07-0${startDay}T11:00:00Z`,
        ExtendedProperties: [
          { PropertySetId: 'c11ff724-aa03-4555-9952-8fa248a11c3e', PropertyName: 'exh_app_item_id', Value: app },
        ],
      });
    }
    const later = await service.FindItems(
      WellKnownFolderName.Calendar,
      new SearchFilter.IsGreaterThanOrEqualTo(AppointmentSchema.Start, new DateTime(Date.UTC(2024, 6, 3))),
      new ItemView(10),
    );
    expect(later.Items.map((i) => i.Subject).sort()).toEqual(['b', 'c']);
    const byApp = await service.FindItems(
      WellKnownFolderName.Calendar,
      new SearchFilter.IsEqualTo(appItemId, 'APP-5'),
      new ItemView(10),
    );
    expect(byApp.Items.map((i) => i.Subject)).toEqual(['c']);
    const view = new ItemView(2);
    view.OrderBy.Add(ItemSchema.Subject, SortDirection.Ascending);
    const page = await service.FindItems(WellKnownFolderName.Calendar, view);
    expect(page.Items.map((i) => i.Subject)).toEqual(['a', 'b']);
    expect(page.MoreAvailable).toBe(true);
    expect(page.TotalCount).toBe(3);
  });
});
