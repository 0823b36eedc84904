import { defineItemType, field, readOnlyField } from './definition.js';

/** Appointments and meetings; synchronised to the organizer and every attendee (each with its own exh_user row). */
export const calendar = defineItemType({
  name: 'calendar',
  code: 0,
  description: 'Appointments and meetings, recurring ones expanded into occurrences.',
  folders: [{ name: 'calendar', label: 'Calendar' }],
  itemClasses: ['IPM.Appointment'],
  hasAttachments: true,
  behaviour: {
    // Attendees' copies do not carry the connector's stamp; the UID, the same in every copy, links them.
    sharedUid: true,
    // Only the organizer may change a meeting: an attendee's copy is the organizer's to change.
    userMayChange: (row, user) => {
      const organizer = row.organizer;
      return typeof organizer !== 'string' || organizer === '' || organizer.toLowerCase() === user.toLowerCase();
    },
    series: true,
  },
  fields: [
    field('subject', 'text', 'subject', 'Subject.'),
    field('body', 'body', 'body', 'Body, text or HTML (see body_type).'),
    field('body_type', 'code', 'bodyType', 'Text or HTML.'),
    field('location', 'text', 'location', 'Location.'),
    field('start', 'timestamp', 'start', 'Start.'),
    field('end', 'timestamp', 'end', 'End.'),
    field('all_day', 'boolean', 'isAllDay', 'Whether the appointment lasts whole days.'),
    field('time_zone', 'text', 'timeZone', 'The time zone the appointment was made in (Windows time zone id).'),
    readOnlyField(
      'organizer',
      'text',
      'organizer',
      'The organizer (SMTP address); only the organizer may change a meeting.',
    ),
    field(
      'required_attendees',
      'longText',
      'requiredAttendees',
      'Required attendees, SMTP addresses separated by ";".',
    ),
    field('optional_attendees', 'longText', 'optionalAttendees', 'Optional attendees, separated by ";".'),
    field('resources', 'longText', 'resources', 'Resources (rooms, equipment), separated by ";".'),
    field('categories', 'longText', 'categories', 'Categories, separated by ";".'),
    field('importance', 'code', 'importance', 'Low, Normal or High.'),
    field('sensitivity', 'code', 'sensitivity', 'Normal, Personal, Private or Confidential.'),
    field('free_busy_status', 'code', 'freeBusy', 'Free, Tentative, Busy, OOF, WorkingElsewhere or NoData.'),
    field('reminder_set', 'boolean', 'reminderSet', 'Whether a reminder is set.'),
    field('reminder', 'integer', 'reminderMinutes', 'Minutes before the start the reminder goes off.'),
    readOnlyField('is_recurring', 'boolean', 'isRecurring', 'Whether this item belongs to a recurring series.'),
    readOnlyField(
      'recurrence',
      'longText',
      'recurrence',
      'The recurrence pattern in readable form ("Weekly on Monday, ...").',
    ),
    readOnlyField(
      'occurrence_original_start',
      'timestamp',
      'originalStart',
      'For an occurrence: its start in the pattern.',
    ),
    readOnlyField('is_cancelled', 'boolean', 'isCancelled', 'Whether the meeting was cancelled.'),
    readOnlyField('is_meeting', 'boolean', 'isMeeting', 'Whether attendees were invited.'),
    readOnlyField('created', 'timestamp', 'created', 'When the item was created in Exchange.'),
    readOnlyField('last_modified', 'timestamp', 'lastModified', 'When the item was last changed in Exchange.'),
  ],
});
