import type { ItemView } from '../items/calendar.js';
import { extendedKey } from '../items/extended.js';
import type { ItemKind } from '../items/fields.js';
import { isoSeconds } from '../items/values.js';
import type { XmlNode } from '../xml/node.js';
import { extendedElements, instantOf } from './convert/common.js';
import { contactElements, renderContact } from './convert/contact.js';
import type { RenderContext } from './convert/context.js';
import { eventElements, eventIgnored, renderEvent } from './convert/event.js';
import { messageElement, messageIgnored, refuseUnknown, renderMessage } from './convert/message.js';
import { renderTask, taskElements, taskIgnored } from './convert/task.js';
import { mappedTags, type QueryOptions } from './query.js';
import type { ElementChanges } from './writes.js';

/**
 * The four Graph item resources over the store's kinds: how each renders and how a create or PATCH body becomes EWS
 * element changes (convert/*.ts). Unknown properties are refused with Graph's 400, as Graph does.
 */

export interface ItemType {
  graphType: 'message' | 'event' | 'contact' | 'todoTask';
  /** Store kinds this resource shows. */
  kinds: ItemKind[];
  createKind: ItemKind;
  render(view: ItemView, ctx: RenderContext, options: QueryOptions): Record<string, unknown>;
  changes(input: Record<string, unknown>, view: ItemView | undefined): ElementChanges;
}

/** An extended property EWS keeps as an ordinary property (query.ts, mappedTags) becomes that property. */
function mappedElement(element: XmlNode): XmlNode {
  const uri = element.c?.find((c) => c.n === 'ExtendedFieldURI')?.a ?? {};
  const mapped = mappedTags[extendedKey(uri)];
  if (!mapped) return element;
  const value = element.c?.find((c) => c.n === 'Value')?.t ?? '';
  return value === '' ? { n: mapped } : { n: mapped, t: value };
}

type ElementsOf = (name: string, value: unknown) => XmlNode[] | XmlNode | undefined;

function collect(
  graphType: string,
  input: Record<string, unknown>,
  elementsOf: ElementsOf,
  ignored: Set<string>,
  special: (name: string, value: unknown, out: ElementChanges) => boolean = () => false,
): ElementChanges {
  const out: ElementChanges = { set: [], clear: [] };
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined || ignored.has(name) || name.startsWith('@odata')) continue;
    if (name === 'singleValueExtendedProperties') {
      for (const element of extendedElements(value).map(mappedElement)) {
        if (element.n !== 'ExtendedProperty' && element.t === undefined) out.clear.push(element.n);
        else out.set.push(element);
      }
      continue;
    }
    if (special(name, value, out)) continue;
    const result = elementsOf(name, value);
    if (result === undefined) refuseUnknown(graphType, name);
    for (const node of Array.isArray(result) ? result : [result]) {
      if ((node.c === undefined || node.c.length === 0) && node.t === undefined && !node.a) out.clear.push(node.n);
      else out.set.push(node);
    }
  }
  return out;
}

export const messageType: ItemType = {
  graphType: 'message',
  kinds: ['Message', 'MeetingRequest', 'MeetingCancellation'],
  createKind: 'Message',
  render: (view, ctx) => renderMessage(view, ctx),
  changes: (input) => collect('message', input, messageElement, messageIgnored),
};

function eventTime(name: string, value: unknown, out: ElementChanges): boolean {
  if (name !== 'start' && name !== 'end') return false;
  const { ms, zone } = instantOf(value, name);
  out.set.push({ n: name === 'start' ? 'Start' : 'End', t: isoSeconds(ms) });
  out.set.push({ n: name === 'start' ? 'StartTimeZone' : 'EndTimeZone', a: { Id: zone } });
  return true;
}

export const eventType: ItemType = {
  graphType: 'event',
  kinds: ['CalendarItem'],
  createKind: 'CalendarItem',
  render: (view, ctx) => renderEvent(view, ctx),
  changes: (input) => collect('event', input, eventElements, new Set([...eventIgnored, 'transactionId']), eventTime),
};

export const contactType: ItemType = {
  graphType: 'contact',
  kinds: ['Contact'],
  createKind: 'Contact',
  render: (view, ctx) => renderContact(view, ctx),
  changes: (input, view) => {
    const { set, clear, unknown } = contactElements(input, view?.props ?? {});
    if (unknown[0]) refuseUnknown('contact', unknown[0]);
    return { set: [...set, ...extendedElements(input.singleValueExtendedProperties)], clear };
  },
};

export const taskType: ItemType = {
  graphType: 'todoTask',
  kinds: ['Task'],
  createKind: 'Task',
  render: (view, ctx, options) => renderTask(view, ctx, options.expand.has('linkedresources')),
  changes: (input) => collect('todoTask', input, taskElements, new Set([...taskIgnored, 'linkedResources'])),
};
