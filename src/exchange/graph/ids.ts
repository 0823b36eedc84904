import { createHash } from 'node:crypto';
import type { SingleValueLegacyExtendedProperty } from '@microsoft/microsoft-graph-types';

/**
 * Names the Graph adapter gives things: the application's stamp as a single-value extended property (the same
 * property set and name as the EWS adapter's, src/exchange/ews/properties.ts, so both backends read each other's
 * stamp), the linked resource a todoTask carries instead, the paths of a mailbox, and the transactionId that makes
 * a retried event create happen once (docs/exchange-online.md).
 */

export const appItemIdPropertyId = 'String {c11ff724-aa03-4555-9952-8fa248a11c3e} Name exh_app_item_id';

/** linkedResource.applicationName of the connector's todoTasks. */
export const linkedResourceApplication = 'exh';

/** `$expand` that brings the stamp along (and nothing else of the extended properties). */
export const appItemIdExpand = `singleValueExtendedProperties($filter=id eq '${appItemIdPropertyId}')`;

/** A string literal in an OData expression: single quotes doubled. */
export function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `$filter` finding messages, events or contacts stamped with `appItemId`. */
export function appItemIdFilter(appItemId: string): string {
  return (
    `singleValueExtendedProperties/Any(ep: ep/id eq '${appItemIdPropertyId}' and ep/value eq ` +
    `${odataString(appItemId)})`
  );
}

/** The stamp among an item's expanded extended properties; null when it has none. */
export function stampOf(properties: readonly SingleValueLegacyExtendedProperty[] | null | undefined): string | null {
  const found = (properties ?? []).find((p) => p.id?.toLowerCase() === appItemIdPropertyId.toLowerCase());
  return found?.value ? found.value : null;
}

/** The stamp as a create's singleValueExtendedProperties. */
export function stampProperty(appItemId: string): SingleValueLegacyExtendedProperty[] {
  return [{ id: appItemIdPropertyId, value: appItemId }];
}

/** A mailbox's path under the base URL. */
export function userPath(user: string): string {
  return `/users/${encodeURIComponent(user)}`;
}

/** A path segment (an item id carries `=`, `-`, `_` and, for regular ids, `/` and `+`). */
export function segment(id: string): string {
  return encodeURIComponent(id);
}

/**
 * An event's transactionId: derived from the application's id, so that a create retried after a lost answer is
 * recognised by Graph and not doubled. Graph documents no format; a GUID-like 36 characters of hex keep it safe.
 */
export function transactionIdOf(appItemId: string): string {
  const hex = createHash('sha256').update(`exh:${appItemId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** If-Match for a change key or an @odata.etag. */
export function ifMatch(changeKey: string): string {
  return changeKey.startsWith('W/') || changeKey.startsWith('"') ? changeKey : `W/"${changeKey}"`;
}

/** What kind of Graph resource an item is: each lives under its own path. */
export type ResourceKind = 'message' | 'event' | 'contact' | 'task';

/** The kind of resource an item of `itemClass` is (the class of ItemWrite). */
export function kindOfClass(itemClass: string): ResourceKind {
  const lower = itemClass.toLowerCase();
  if (lower === 'ipm.appointment' || lower.startsWith('ipm.appointment.')) return 'event';
  if (lower === 'ipm.contact' || lower.startsWith('ipm.contact.')) return 'contact';
  if (lower === 'ipm.task' || lower.startsWith('ipm.task.')) return 'task';
  return 'message';
}

/** The kind of resource a folder holds. */
export function kindOfFolder(folder: string): ResourceKind {
  if (folder === 'calendar') return 'event';
  if (folder === 'contacts') return 'contact';
  if (folder === 'tasks') return 'task';
  return 'message';
}

/** An item's path: `/users/{u}/messages/{id}`, …, a task's under its To Do list. */
export function itemPath(mailboxPath: string, kind: ResourceKind, id: string, listId?: string): string {
  switch (kind) {
    case 'message':
      return `${mailboxPath}/messages/${segment(id)}`;
    case 'event':
      return `${mailboxPath}/events/${segment(id)}`;
    case 'contact':
      return `${mailboxPath}/contacts/${segment(id)}`;
    case 'task':
      return `${mailboxPath}/todo/lists/${segment(listId ?? '')}/tasks/${segment(id)}`;
  }
}

/** The Prefer values of a request that also says how bodies are wanted (a batch sub-request replaces them all). */
export function preferring(bodyType: 'html' | 'text' = 'html'): string[] {
  return ['IdType="ImmutableId"', 'outlook.timezone="UTC"', `outlook.body-content-type="${bodyType}"`];
}
