import { defineItemType, field } from './definition.js';

/** Tasks in the user's Tasks folder. */
export const task = defineItemType({
  name: 'task',
  code: 3,
  description: 'Tasks.',
  hasAttachments: true,
  fields: [
    field('subject', 'text', 'Subject', 'Subject.'),
    field('body', 'body', 'Body', 'Body, text or HTML (see body_type).'),
    field('body_type', 'code', 'Body.BodyType', 'Text or HTML.'),
    field('start', 'timestamp', 'StartDate', 'Start date.'),
    field('due', 'timestamp', 'DueDate', 'Due date.'),
    field('status', 'code', 'Status', 'NotStarted, InProgress, Completed, WaitingOnOthers or Deferred.'),
    field('percent_complete', 'integer', 'PercentComplete', 'Percent complete, 0 to 100.'),
    field('importance', 'code', 'Importance', 'Low, Normal or High.'),
    field('completed', 'timestamp', 'CompleteDate', 'When the task was completed.'),
    field('reminder_set', 'boolean', 'IsReminderSet', 'Whether a reminder is set.'),
    field('reminder', 'timestamp', 'ReminderDueBy', 'When the reminder goes off.'),
    field('owner', 'text', 'Owner', 'The owner of the task.'),
    field('categories', 'longText', 'Categories', 'Categories, separated by ";".'),
  ],
});
