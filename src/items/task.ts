import { defineItemType, field, readOnlyField } from './definition.js';

/** Tasks in the user's Tasks folder. */
export const task = defineItemType({
  name: 'task',
  code: 3,
  description: 'Tasks.',
  folders: [{ name: 'tasks', label: 'Tasks' }],
  itemClasses: ['IPM.Task'],
  hasAttachments: true,
  fields: [
    field('subject', 'text', 'subject', 'Subject.'),
    field('body', 'body', 'body', 'Body, text or HTML (see body_type).'),
    field('body_type', 'code', 'bodyType', 'Text or HTML.'),
    field('start', 'timestamp', 'startDate', 'Start date.'),
    field('due', 'timestamp', 'dueDate', 'Due date.'),
    field('status', 'code', 'status', 'NotStarted, InProgress, Completed, WaitingOnOthers or Deferred.'),
    field('percent_complete', 'integer', 'percentComplete', 'Percent complete, 0 to 100.'),
    field('importance', 'code', 'importance', 'Low, Normal or High.'),
    field('completed', 'timestamp', 'completeDate', 'When the task was completed.'),
    field('reminder_set', 'boolean', 'reminderSet', 'Whether a reminder is set.'),
    field('reminder', 'timestamp', 'reminderDueBy', 'When the reminder goes off.'),
    readOnlyField('owner', 'text', 'owner', 'The owner of the task.'),
    field('categories', 'longText', 'categories', 'Categories, separated by ";".'),
  ],
});
