import type { LinkedResource, TodoTask } from '@microsoft/microsoft-graph-types';
import type { ExchangeItem, ExchangeValue, ItemProperty } from '../../../ports/exchange.port.js';
import { linkedResourceApplication } from '../ids.js';
import { attachmentRefs, bodyType } from './message.js';
import {
  bodyContentType,
  fromCode,
  fromDateTimeTimeZone,
  importanceCodes,
  iso,
  type Labels,
  put,
  splitList,
  strings,
  text,
  toBoolean,
  toCode,
  toText,
  toUtcDateTime,
  type Values,
} from './values.js';

/**
 * A Microsoft To Do task (the default list, Outlook's Tasks folder) ↔ the neutral properties of a task: title is
 * the subject, isReminderOn/reminderDateTime the reminder, times are dateTimeTimeZone in whatever zone To Do kept
 * them, read as UTC. To Do has no extended properties, so the application's id is a linkedResource
 * (applicationName `exh`, externalId the id). To Do has no percent complete, owner or sensitivity: percentComplete
 * and owner are left out of the item (not read, so the core keeps the application's columns: src/ports/exchange.port.ts,
 * ExchangeItem), and writes of them are ignored.
 */

export type GraphTodoTask = TodoTask & { '@odata.etag'?: string; '@removed'?: { reason?: string } };

const statusCodes = {
  NotStarted: 'notStarted',
  InProgress: 'inProgress',
  Completed: 'completed',
  WaitingOnOthers: 'waitingOnOthers',
  Deferred: 'deferred',
};

/** The application's id among a task's linked resources. */
export function linkedAppItemId(resources: readonly LinkedResource[] | null | undefined): string | null {
  const found = (resources ?? []).find((r) => r.applicationName === linkedResourceApplication && r.externalId);
  return found?.externalId ?? null;
}

export function todoTaskFromGraph(task: GraphTodoTask): ExchangeItem {
  const properties: Partial<Record<ItemProperty, ExchangeValue>> = {
    subject: text(task.title),
    body: text(task.body?.content),
    bodyType: bodyType(task.body?.contentType),
    categories: strings(task.categories),
    importance: fromCode(task.importance),
    created: iso(task.createdDateTime),
    lastModified: iso(task.lastModifiedDateTime),
    attachments: attachmentRefs(task.attachments as never),
    appItemId: linkedAppItemId(task.linkedResources),
    startDate: fromDateTimeTimeZone(task.startDateTime),
    dueDate: fromDateTimeTimeZone(task.dueDateTime),
    status: task.status ? fromCode(task.status) : null,
    completeDate: fromDateTimeTimeZone(task.completedDateTime),
    reminderSet: task.isReminderOn ?? null,
    reminderDueBy: fromDateTimeTimeZone(task.reminderDateTime),
  };
  return {
    id: task.id ?? '',
    changeKey: task['@odata.etag'] ?? '',
    itemClass: 'IPM.Task',
    properties,
  };
}

/** The JSON of a POST or PATCH of a todoTask; `appItemId` (create) adds the linked resource. */
export function todoTaskToGraph(
  values: Values,
  labels: Labels = {},
  appItemId: string | undefined = undefined,
): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  put(json, 'title', values, labels, 'subject', toText, '');
  put(json, 'body', values, labels, 'body', (v) => ({ contentType: bodyContentType(v, values), content: toText(v) }), {
    contentType: 'text',
    content: '',
  });
  put(json, 'categories', values, labels, 'categories', splitList, []);
  put(json, 'importance', values, labels, 'importance', (v) => toCode(v, importanceCodes), 'normal');
  put(json, 'status', values, labels, 'status', (v) => toCode(v, statusCodes), 'notStarted');
  put(json, 'startDateTime', values, labels, 'startDate', toUtcDateTime);
  put(json, 'dueDateTime', values, labels, 'dueDate', toUtcDateTime);
  put(json, 'completedDateTime', values, labels, 'completeDate', toUtcDateTime);
  put(json, 'isReminderOn', values, labels, 'reminderSet', toBoolean);
  put(json, 'reminderDateTime', values, labels, 'reminderDueBy', toUtcDateTime);
  if (appItemId !== undefined) {
    json.linkedResources = [
      { applicationName: linkedResourceApplication, externalId: appItemId, displayName: `exh ${appItemId}` },
    ];
  }
  return json;
}
