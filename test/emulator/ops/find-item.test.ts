import {
  Appointment,
  AppointmentSchema,
  AppointmentType,
  BasePropertySet,
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
import { codeOf, errorCodeOf, ewsService, soap, startTestEmulator } from '../support/harness.js';

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

describe('EWSFindCountLimit', () => {
  const findContacts = (view: string) =>
    `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>${view}<m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>`;

  it('answers a paged view with at most 1,000 items, and refuses an unpaged one past the limit', async () => {
    expect(emulator.admin.settings().findCountLimit).toBe(1000);
    const { user, service } = mailbox('many');
    emulator.admin.seed(user, 'Contact', 1001);
    const view = new ItemView(1500);
    view.PropertySet = new PropertySet(BasePropertySet.IdOnly);
    const page = await service.FindItems(WellKnownFolderName.Contacts, view);
    expect(page.Items.length).toBe(1000);
    expect(page.MoreAvailable).toBe(true);
    expect(page.NextPageOffset).toBe(1000);
    const unpaged = await soap(emulator, findContacts(''), { impersonate: user });
    expect(codeOf(unpaged)).toBe('ErrorExceededFindCountLimit');
    const rest = await soap(emulator, findContacts('<m:IndexedPageItemView Offset="1" BasePoint="Beginning"/>'), {
      impersonate: user,
    });
    expect(codeOf(rest)).toBe('NoError');
    expect(rest.text).toContain('IncludesLastItemInRange="true"');
  });

  it('cuts a CalendarView short at MaxEntriesReturned, and refuses one without it that holds more than the limit', async () => {
    const { service } = mailbox('endless');
    const daily = new Appointment(service);
    daily.Subject = 'Every day, forever';
    daily.Start = new DateTime(Date.UTC(2024, 0, 1, 9));
    daily.End = new DateTime(Date.UTC(2024, 0, 1, 9, 30));
    const Daily = Recurrence.DailyPattern as unknown as new (start: DateTime, interval: number) => Recurrence;
    daily.Recurrence = new Daily(daily.Start.Date, 1);
    daily.Recurrence.NeverEnds();
    await daily.Save(SendInvitationsMode.SendToNone);
    const from = new DateTime(Date.UTC(2024, 0, 1));
    const to = new DateTime(Date.UTC(2324, 0, 1));
    expect(
      await errorCodeOf(() => service.FindAppointments(WellKnownFolderName.Calendar, new CalendarView(from, to))),
    ).toBe('ErrorCalendarViewRangeTooBig');
    const first = await service.FindAppointments(WellKnownFolderName.Calendar, new CalendarView(from, to, 10));
    expect(first.Items.map((a) => iso(a.Start.TotalMilliSeconds))).toEqual(
      Array.from({ length: 10 }, (_, i) => iso(Date.UTC(2024, 0, 1 + i, 9))),
    );
    expect(first.MoreAvailable).toBe(true);
    const month = await service.FindAppointments(
      WellKnownFolderName.Calendar,
      new CalendarView(new DateTime(Date.UTC(2030, 5, 1)), new DateTime(Date.UTC(2030, 6, 1))),
    );
    expect(month.Items.length).toBe(30);
    expect(month.MoreAvailable).toBe(false);
  });
});
