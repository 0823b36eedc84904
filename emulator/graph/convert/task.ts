import type { LinkedResource, TodoTask } from '@microsoft/microsoft-graph-types';
import type { ItemView } from '../../items/calendar.js';
import { bool, isoSeconds, textOf, timeOf } from '../../items/values.js';
import type { PropValue } from '../../store/model.js';
import type { XmlNode } from '../../xml/node.js';
import { badRequest } from '../http.js';
import { graphIdOf } from '../ids.js';
import {
  bodyElement,
  bodyOf,
  dateTimeOf,
  instantOf,
  lowerFirst,
  stringList,
  stringsOf,
  text,
  upperFirst,
} from './common.js';
import type { RenderContext } from './context.js';

/**
 * Graph's todoTask (https://learn.microsoft.com/graph/api/resources/todotask) from and to the store's EWS task in the
 * Tasks folder (To Do's list with wellknownListName defaultList): title ↔ Subject, status ↔ Status, dueDateTime ↔
 * DueDate, startDateTime ↔ StartDate, completedDateTime ↔ CompleteDate, reminderDateTime ↔ ReminderDueBy. A todoTask
 * has no extended properties; its linkedResources are kept beside the EWS properties (`_linkedResources`, JSON).
 */

const statuses = ['NotStarted', 'InProgress', 'Completed', 'WaitingOnOthers', 'Deferred'] as const;
const importances = ['Low', 'Normal', 'High'] as const;

export function linkedResourcesOf(props: Record<string, PropValue>): LinkedResource[] {
  const raw = props._linkedResources;
  if (typeof raw !== 'string') return [];
  try {
    return JSON.parse(raw) as LinkedResource[];
  } catch {
    return [];
  }
}

export function renderTask(
  view: ItemView,
  ctx: RenderContext,
  expandLinked: boolean,
): TodoTask & Record<string, unknown> {
  const { item, props } = view;
  const zone = ctx.prefs.timeZone;
  const at = (value: PropValue | undefined) => {
    const ms = timeOf(value);
    return ms === undefined ? undefined : dateTimeOf(ms, zone);
  };
  const due = at(props.DueDate);
  const start = at(props.StartDate);
  const completed = at(props.CompleteDate);
  const reminder = at(props.ReminderDueBy);
  const body = bodyOf(props.Body, ctx.prefs.bodyType ?? 'text');
  return {
    '@odata.etag': `W/"${view.changeKey}"`,
    id: graphIdOf(item, ctx.prefs.immutableIds),
    title: textOf(props.Subject) ?? '',
    status: lowerFirst(textOf(props.Status), 'NotStarted') as TodoTask['status'],
    importance: lowerFirst(textOf(props.Importance), 'Normal') as TodoTask['importance'],
    isReminderOn: bool(props.ReminderIsSet),
    createdDateTime: isoSeconds(item.created),
    lastModifiedDateTime: isoSeconds(item.modified),
    bodyLastModifiedDateTime: isoSeconds(item.modified),
    hasAttachments: (item.attachments?.length ?? 0) > 0,
    categories: stringsOf(props.Categories),
    body: { content: body.content ?? '', contentType: body.contentType ?? 'text' },
    ...(due ? { dueDateTime: due } : {}),
    ...(start ? { startDateTime: start } : {}),
    ...(completed ? { completedDateTime: completed } : {}),
    ...(reminder ? { reminderDateTime: reminder } : {}),
    ...(expandLinked ? { linkedResources: linkedResourcesOf(props) } : {}),
  };
}

function dateNode(name: string, value: unknown, what: string): XmlNode {
  if (value === null) return { n: name };
  return { n: name, t: isoSeconds(instantOf(value, what).ms) };
}

/** One writable todoTask property as EWS elements (an empty element deletes it; undefined: not a task property). */
export function taskElements(name: string, value: unknown): XmlNode[] | undefined {
  const one = (node: XmlNode) => [node];
  switch (name) {
    case 'title':
      return one(value === null ? { n: 'Subject' } : { n: 'Subject', t: text(value, 'title') });
    case 'body':
      return one(value === null ? { n: 'Body' } : bodyElement(value));
    case 'status': {
      const status = upperFirst(value, 'status', statuses);
      return [
        { n: 'Status', t: status },
        { n: 'PercentComplete', t: status === 'Completed' ? '100' : '0' },
      ];
    }
    case 'importance':
      return one(
        value === null ? { n: 'Importance' } : { n: 'Importance', t: upperFirst(value, 'importance', importances) },
      );
    case 'isReminderOn':
      return [{ n: 'ReminderIsSet', t: String(value === true) }];
    case 'categories':
      return [stringList('Categories', value)];
    case 'dueDateTime':
      return one(dateNode('DueDate', value, 'dueDateTime'));
    case 'startDateTime':
      return one(dateNode('StartDate', value, 'startDateTime'));
    case 'completedDateTime':
      return one(dateNode('CompleteDate', value, 'completedDateTime'));
    case 'reminderDateTime':
      return one(dateNode('ReminderDueBy', value, 'reminderDateTime'));
    default:
      return undefined;
  }
}

export const taskIgnored = new Set([
  'id',
  '@odata.type',
  '@odata.etag',
  'createdDateTime',
  'lastModifiedDateTime',
  'bodyLastModifiedDateTime',
  'hasAttachments',
  'recurrence',
  'checklistItems',
]);

/** A linkedResource as stored (with an id minted by the emulator). */
export function linkedResourceOf(value: unknown, id: string): LinkedResource {
  const given = (value ?? {}) as LinkedResource;
  if (typeof given.applicationName !== 'string' || !given.applicationName)
    throw badRequest('linkedResource.applicationName is required.');
  return {
    id,
    applicationName: given.applicationName,
    displayName: typeof given.displayName === 'string' ? given.displayName : null,
    externalId: typeof given.externalId === 'string' ? given.externalId : null,
    webUrl: typeof given.webUrl === 'string' ? given.webUrl : null,
  };
}
