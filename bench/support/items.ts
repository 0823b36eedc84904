/**
 * Items as people make them, for seeding the emulator: HTML bodies, attendees and recipients, categories, contact
 * details, the connector's extended property on some (the same templates as bench/emulator.ts's "realistic" items).
 * `mixOf(n)` splits n items into the mix the issue names: 40% appointments, 30% e-mail, 20% contacts, 10% tasks.
 */
import type { ItemInput } from '../../emulator/index.js';

export type SeedKind = 'CalendarItem' | 'Message' | 'Contact' | 'Task';

/** How many items of each kind a mailbox gets. */
export type SeedMix = Partial<Record<SeedKind, number>>;

const paragraph =
  '<p>Agenda: review of the sprint, the open incidents and the release plan for next month. Please bring your notes ' +
  'and the figures from the last report, so that we can decide on the priorities.</p>';

export const templates: Record<SeedKind, Omit<ItemInput, 'kind'>> = {
  CalendarItem: {
    Subject: 'Sprint review',
    Body: { BodyType: 'HTML', value: `<html><body>${paragraph.repeat(3)}</body></html>` },
    Location: 'Room 4.12, second floor',
    StartTimeZone: 'W. Europe Standard Time',
    RequiredAttendees: ['ann.smith@fabrikam.test', 'bo.jansen@fabrikam.test', 'carla.de.vries@fabrikam.test'],
    OptionalAttendees: ['dirk.bakker@fabrikam.test'],
    Categories: ['Blue category', 'Project Falcon'],
  },
  Message: {
    Subject: 'Re: figures for the quarterly report',
    Body: { BodyType: 'HTML', value: `<html><body>${paragraph.repeat(8)}</body></html>` },
    ToRecipients: ['ann.smith@fabrikam.test', 'bo.jansen@fabrikam.test'],
    CcRecipients: ['carla.de.vries@fabrikam.test'],
    From: 'erik.visser@fabrikam.test',
    Categories: ['Finance'],
    IsRead: 'true',
  },
  Contact: {
    GivenName: 'Annemarie',
    Surname: 'van den Berg',
    CompanyName: 'Fabrikam Consulting',
    JobTitle: 'Project manager',
    EmailAddresses: { EmailAddress1: 'annemarie.vandenberg@fabrikam.test' },
    PhoneNumbers: { BusinessPhone: '+31 20 555 0123', MobilePhone: '+31 6 5555 0123' },
    PhysicalAddresses: {
      Business: {
        Street: 'Keizersgracht 123',
        City: 'Amsterdam',
        PostalCode: '1015 CJ',
        CountryOrRegion: 'Netherlands',
      },
    },
    Categories: ['Customers'],
  },
  Task: {
    Subject: 'Prepare the release notes',
    Body: `Collect the changes since the last release and write them up for the customers. ${'Check each item. '.repeat(10)}`,
    DueDate: '2026-06-01T00:00:00Z',
    Status: 'InProgress',
    Categories: ['Release'],
  },
};

/** n items in the mix: 40% appointments, 30% e-mail, 20% contacts, 10% tasks (rounding goes to appointments). */
export function mixOf(n: number): Required<SeedMix> {
  const Message = Math.round(n * 0.3);
  const Contact = Math.round(n * 0.2);
  const Task = Math.round(n * 0.1);
  return { CalendarItem: n - Message - Contact - Task, Message, Contact, Task };
}

/** Total items of a mix. */
export function sizeOf(mix: SeedMix): number {
  return Object.values(mix).reduce((sum, n) => sum + (n ?? 0), 0);
}

/**
 * Where seeded appointments start: an hour apart from 30 days ago (whole hours), so that they fall within Graph's
 * calendar window (docs/exchange-online.md, "The calendar window": 365 days back, 730 ahead) as well as EWS's.
 */
export function appointmentsFrom(now = Date.now()): number {
  return Math.floor((now - 30 * 86_400_000) / 3_600_000) * 3_600_000;
}
