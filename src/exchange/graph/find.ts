import type { CallOptions, FolderName } from '../../ports/exchange.port.js';
import type { GraphMailbox } from './connection.js';
import { appItemIdFilter, segment } from './ids.js';
import { rememberKind } from './locate.js';
import { type GraphTodoTask, linkedAppItemId } from './map/todo-task.js';

/**
 * MailboxWriter.findByAppItemId through Graph: messages, events and contacts by a $filter on the stamp (the
 * connector's extended property) in each folder asked; To Do cannot filter on linked resources, so the default list's
 * tasks are read with theirs, page by page.
 */

/** Where items of a folder are listed for a $filter on the stamp. */
function listingOf(mailbox: GraphMailbox, folder: FolderName): string {
  switch (folder) {
    case 'calendar':
      return `${mailbox.path}/calendar/events`;
    case 'contacts':
      return `${mailbox.path}/contacts`;
    default:
      return `${mailbox.path}/mailFolders/${folder}/messages`;
  }
}

export async function findByAppItemId(
  mailbox: GraphMailbox,
  folders: readonly FolderName[],
  appItemId: string,
  options: CallOptions,
): Promise<string | null> {
  for (const folder of folders) {
    const found =
      folder === 'tasks'
        ? await findTask(mailbox, appItemId, options)
        : await findStamped(mailbox, folder, appItemId, options);
    if (found) return found;
  }
  return null;
}

async function findStamped(
  mailbox: GraphMailbox,
  folder: FolderName,
  appItemId: string,
  options: CallOptions,
): Promise<string | null> {
  const url = `${listingOf(mailbox, folder)}?$filter=${encodeURIComponent(appItemIdFilter(appItemId))}&$select=id&$top=1`;
  const answer = await mailbox.send<{ value?: Array<{ id?: string }> }>({ method: 'GET', url }, options);
  const id = answer.body?.value?.[0]?.id;
  if (!id) return null;
  rememberKind(mailbox, id, folder === 'calendar' ? 'event' : folder === 'contacts' ? 'contact' : 'message');
  return id;
}

/** To Do cannot filter on linked resources: the default list's tasks are read with theirs, page by page. */
async function findTask(mailbox: GraphMailbox, appItemId: string, options: CallOptions): Promise<string | null> {
  if (!mailbox.todoListId) return null;
  let url: string | undefined =
    `${mailbox.path}/todo/lists/${segment(mailbox.todoListId)}/tasks?$expand=linkedResources&$top=100`;
  while (url) {
    const answer: { body: { value?: GraphTodoTask[]; '@odata.nextLink'?: string } | undefined } = await mailbox.send(
      { method: 'GET', url },
      options,
    );
    const found = (answer.body?.value ?? []).find((task) => linkedAppItemId(task.linkedResources) === appItemId);
    if (found?.id) {
      rememberKind(mailbox, found.id, 'task');
      return found.id;
    }
    url = answer.body?.['@odata.nextLink'];
  }
  return null;
}
