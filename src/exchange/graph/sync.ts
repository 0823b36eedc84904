import { errors, isExhError } from '../../errors.js';
import type {
  BodyType,
  ExchangeItem,
  FolderName,
  SyncChange,
  SyncFolderOptions,
  SyncPage,
} from '../../ports/exchange.port.js';
import { attachmentRefsOf } from './attachments.js';
import { syncCalendar } from './calendar-window.js';
import type { GraphMailbox } from './connection.js';
import { decodeContinuation, encodeContinuation, type GraphContinuation } from './continuation.js';
import { appItemIdExpand, itemPath, kindOfFolder, type ResourceKind, segment } from './ids.js';
import { contactFromGraph } from './map/contact.js';
import { eventFromGraph } from './map/event.js';
import { messageExpand, messageFromGraph, messageSelect } from './map/message.js';
import { type GraphTodoTask, linkedAppItemId, todoTaskFromGraph } from './map/todo-task.js';

/**
 * Delta rounds (https://learn.microsoft.com/graph/delta-query-overview) for the folders Graph tracks whole: inbox and
 * sentitems (messages/delta, the mapped fields selected, the stamp expanded), contacts (the default contact folder)
 * and tasks (the default To Do list). One syncFolder call is one delta page: the continuation carries Graph's link
 * (./continuation.ts), `done` when the page ended with a deltaLink. `@removed` is a deletion (replayed ones are
 * harmless: the core deletes what is there), except a message moved between inbox and sentitems (deletions below).
 * The calendar is read within a window (./calendar-window.ts).
 */

/** A delta answer's page. */
export interface DeltaAnswer<T> {
  value?: T[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

export type DeltaEntry = Record<string, unknown> & { id?: string; '@removed'?: { reason?: string } };

export function pageSize(mailbox: GraphMailbox, options: SyncFolderOptions): number {
  return Math.max(1, Math.min(mailbox.graph.pageSize, Math.floor(options.maxChanges)));
}

/** One page of a delta link, with the page size and body type asked for. */
export async function readDelta<T>(
  mailbox: GraphMailbox,
  url: string,
  options: SyncFolderOptions,
): Promise<{ entries: T[]; next?: string; delta?: string; date: string }> {
  const answer = await mailbox.send<DeltaAnswer<T>>(
    {
      method: 'GET',
      url,
      prefer: [`odata.maxpagesize=${pageSize(mailbox, options)}`, bodyPreference(options.bodyType)],
    },
    options,
  );
  const body = answer.body ?? {};
  const next = body['@odata.nextLink'];
  const delta = body['@odata.deltaLink'];
  // Graph's own clock, the one createdDateTime is on (./sync.ts changeType).
  const dated = Date.parse(answer.headers?.get('date') ?? '');
  const date = new Date(Number.isNaN(dated) ? Date.now() : dated).toISOString();
  return { entries: body.value ?? [], ...(next ? { next } : {}), ...(delta ? { delta } : {}), date };
}

export function bodyPreference(bodyType: BodyType | undefined): string {
  return `outlook.body-content-type="${bodyType ?? 'html'}"`;
}

/** Where a folder's first round starts. */
function initialLink(mailbox: GraphMailbox, folder: FolderName, listId: string | undefined): string {
  switch (folder) {
    case 'contacts':
      return `${mailbox.path}/contactFolders/contacts/contacts/delta?$expand=${appItemIdExpand}`;
    case 'tasks':
      return `${mailbox.path}/todo/lists/${segment(listId ?? '')}/tasks/delta`;
    default:
      return `${mailbox.path}/mailFolders/${folder}/messages/delta?$select=${messageSelect}&$expand=${messageExpand}`;
  }
}

/** Where a round stands: whether it began from nothing, when the previous one began (Graph's clock). */
export interface Round {
  fresh: boolean;
  since?: string;
  /** When this round began; undefined until its first page is read (then that page's Date). */
  started?: string;
}

/** The round a page belongs to, from the stored continuation (a deltaLink begins a new, incremental one). */
export function roundOf(state: GraphContinuation | undefined, restart = false): Round {
  if (!state || restart) return { fresh: true };
  if (state.at === 'delta') return { fresh: false, ...(state.started ? { since: state.started } : {}) };
  return {
    fresh: state.fresh,
    ...(state.since ? { since: state.since } : {}),
    ...(state.started ? { started: state.started } : {}),
  };
}

/**
 * create: new to the reader — the round began from nothing, or the item was made after the previous round began
 * (both times Graph's, to the second: one made in that very second counts as changed, which the application's
 * upserting procedures take alike).
 */
export function changeType(round: Round, item: ExchangeItem): 'create' | 'update' {
  if (round.fresh) return 'create';
  const created = item.properties.created;
  if (typeof created !== 'string' || round.since === undefined) return 'update';
  return Date.parse(created) >= Date.parse(round.since) + 1000 ? 'create' : 'update';
}

export function itemFromGraph(kind: ResourceKind, entry: DeltaEntry): ExchangeItem {
  switch (kind) {
    case 'message':
      return messageFromGraph(entry);
    case 'event':
      return eventFromGraph(entry);
    case 'contact':
      return contactFromGraph(entry);
    case 'task':
      return todoTaskFromGraph(entry as GraphTodoTask);
  }
}

export async function syncFolder(
  mailbox: GraphMailbox,
  folder: FolderName,
  continuation: string | null,
  options: SyncFolderOptions,
): Promise<SyncPage> {
  if (folder === 'calendar') return syncCalendar(mailbox, continuation, options);
  const state = decodeContinuation(mailbox.user, folder, continuation);
  const kind = kindOfFolder(folder);
  const listId = kind === 'task' ? (state?.listId ?? mailbox.todoListId) : undefined;
  if (kind === 'task' && !listId) {
    throw errors.exchangeRequestFailed(
      mailbox.endpoint,
      'todoLists',
      `${mailbox.user} has no default To Do list the application may read (Tasks.ReadWrite.All)`,
    );
  }
  const round = roundOf(state);
  const from = state?.link ?? initialLink(mailbox, folder, listId);
  const page = await readDelta<DeltaEntry>(mailbox, from, options);
  round.started ??= page.date;
  const live: DeltaEntry[] = [];
  const removed: DeltaEntry[] = [];
  for (const entry of page.entries) {
    if (!entry.id) continue;
    if (entry['@removed']) removed.push(entry);
    else live.push(entry);
  }
  const changes: SyncChange[] = await deletions(mailbox, folder, removed, options);
  changes.push(...(await completed(mailbox, kind, live, round, listId, options)));
  const link = page.delta ?? page.next;
  return {
    changes,
    continuation: encodeContinuation({
      folder,
      // A page with neither link (Graph always gives one) ends the round where it began.
      link: link ?? from,
      at: page.delta || !page.next ? 'delta' : 'next',
      fresh: round.fresh,
      started: round.started,
      ...(round.since ? { since: round.since } : {}),
      ...(listId ? { listId } : {}),
    }),
    done: page.delta !== undefined || link === undefined,
  };
}

/**
 * Messages are read from two folders as one type (inbox and sentitems: the e-mail type, docs/exchange-online.md), and
 * an immutable id survives a move between folders, so a message moved from one to the other is the same item.
 */
const movedWithin: Partial<Record<FolderName, readonly FolderName[]>> = {
  inbox: ['inbox', 'sentitems'],
  sentitems: ['inbox', 'sentitems'],
};

/**
 * The page's `@removed` entries as deletions. Graph reports an item that left the folder as removed with reason
 * "changed" whether it was moved or deleted; a message now in a folder of its type (moved from the Inbox to Sent
 * Items) is not a deletion: that folder's round reports it, and its row stays. So, as for the calendar's removals
 * (./calendar-window.ts), such messages are looked up by $batch GETs of their parentFolderId, beside the ids of the
 * type's folders: gone (404), in Deleted Items or in any other folder, the removal is a deletion.
 */
async function deletions(
  mailbox: GraphMailbox,
  folder: FolderName,
  removed: DeltaEntry[],
  options: SyncFolderOptions,
): Promise<SyncChange[]> {
  const siblings = movedWithin[folder] ?? [];
  // Graph's reason "deleted" is gone for good; "changed" is moved out, or deleted but restorable.
  const moved = siblings.length > 0 ? removed.filter((e) => e['@removed']?.reason !== 'deleted') : [];
  const get = (id: string, url: string) => ({ id, method: 'GET' as const, url });
  const results =
    moved.length === 0
      ? []
      : await mailbox.batch(
          [
            ...siblings.map((name) => get(`f:${name}`, `${mailbox.path}/mailFolders/${name}?$select=id`)),
            ...moved.map((e) =>
              get(`r:${e.id}`, `${itemPath(mailbox.path, 'message', e.id as string)}?$select=id,parentFolderId`),
            ),
          ],
          options,
        );
  const answers = new Map(results.map((result) => [result.id, result] as const));
  const field = (body: unknown, name: string) => (body as Record<string, unknown> | undefined)?.[name];
  const folderIds = new Set<unknown>();
  for (const name of siblings) {
    const answer = answers.get(`f:${name}`);
    if (answer && !answer.ok) throw answer.error;
    const id = answer && field(answer.response.body, 'id');
    if (typeof id === 'string') folderIds.add(id);
  }
  const changes: SyncChange[] = [];
  for (const entry of removed) {
    const answer = answers.get(`r:${entry.id}`);
    if (answer?.ok && folderIds.has(field(answer.response.body, 'parentFolderId'))) continue;
    // Gone (404), or a failure of the item's own that cannot say where it went: the deletion Graph reported.
    if (answer && !answer.ok && !isExhError(answer.error, 'EXH_EXCHANGE_ITEM_NOT_FOUND')) {
      if (!isExhError(answer.error) || answer.error.retryable) throw answer.error;
    }
    changes.push({ type: 'delete', itemId: entry.id as string });
  }
  return changes;
}

/**
 * The page's live entries as changes, with what delta does not give fetched by $batch: attachment names and ids
 * (items with attachments) and, for tasks whose delta left them out, the linked resources carrying the stamp. An
 * item gone meanwhile is left out (its removal comes with a later page); one Graph refuses is `unreadable`.
 */
export async function completed(
  mailbox: GraphMailbox,
  kind: ResourceKind,
  entries: DeltaEntry[],
  round: Round,
  listId: string | undefined,
  options: SyncFolderOptions,
): Promise<SyncChange[]> {
  const failures = new Map<string, { code: string; message: string }>();
  const gone = new Set<string>();
  const note = (id: string, error: Error) => {
    if (isExhError(error, 'EXH_EXCHANGE_ITEM_NOT_FOUND')) gone.add(id);
    else if (isExhError(error) && !error.retryable) failures.set(id, { code: error.code, message: error.message });
    else throw error;
  };
  if (kind === 'task') {
    const missing = entries.filter((e) => !Array.isArray(e.linkedResources));
    const results = await mailbox.batch(
      missing.map((e) => ({
        id: e.id as string,
        method: 'GET' as const,
        url: `${itemPath(mailbox.path, 'task', e.id as string, listId)}/linkedResources`,
      })),
      options,
    );
    for (const result of results) {
      const entry = missing.find((e) => e.id === result.id) as DeltaEntry;
      if (result.ok) entry.linkedResources = (result.response.body as { value?: unknown[] } | undefined)?.value ?? [];
      else note(result.id, result.error);
    }
  }
  const withAttachments = entries.filter((e) => e.hasAttachments === true && !Array.isArray(e.attachments));
  const refs = await attachmentRefsOf(
    mailbox,
    withAttachments.map((e) => itemPath(mailbox.path, kind, e.id as string, listId)),
    options,
  );
  withAttachments.forEach((entry, index) => {
    const found = refs[index];
    if (found instanceof Error) note(entry.id as string, found);
    else entry.attachments = found;
  });
  const changes: SyncChange[] = [];
  for (const entry of entries) {
    const id = entry.id as string;
    if (gone.has(id)) continue;
    const failure = failures.get(id);
    if (failure) {
      changes.push({ type: 'unreadable', itemId: id, error: failure });
      continue;
    }
    const item = itemFromGraph(kind, entry);
    if (kind === 'task' && item.properties.appItemId === null) {
      item.properties.appItemId = linkedAppItemId(entry.linkedResources as GraphTodoTask['linkedResources']);
    }
    changes.push({ type: changeType(round, item), item });
  }
  return changes;
}
