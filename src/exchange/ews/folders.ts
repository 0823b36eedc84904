import { type FolderName, folderNames } from '../../ports/exchange.port.js';
import { type EwsFault, fromResponseCode, responseMessageFault } from './errors.js';
import { errorContext, type SoapTarget, soapCall } from './soap.js';
import type { EwsTransport } from './transport.js';
import { all, at, entries, idAttr } from './xml.js';

/**
 * The ids of the mailbox's distinguished folders, in one GetFolder (the library binds one folder per request).
 * Notifications name folders by id; this map turns them back into calendar, inbox, …. It is also the connection's
 * first request, so an unknown mailbox or a denied impersonation shows at connect, not at the first sync.
 */
export async function distinguishedFolderIds(
  transport: EwsTransport,
  target: SoapTarget,
  signal: AbortSignal,
): Promise<Map<string, FolderName>> {
  const body =
    '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>' +
    folderNames.map((name) => `<t:DistinguishedFolderId Id="${name}"/>`).join('') +
    '</m:FolderIds></m:GetFolder>';
  const response = await soapCall(transport, target, 'GetFolder', body, signal);
  const messages = all(at(response, 'ResponseMessages'), 'GetFolderResponseMessage');
  const ids = new Map<string, FolderName>();
  let firstFault: EwsFault | undefined;
  for (const [index, message] of messages.entries()) {
    const fault = responseMessageFault(message);
    if (fault) {
      firstFault ??= fault;
      continue;
    }
    const [folder] = entries(at(message, 'Folders'));
    const id = idAttr(at(folder?.[1], 'FolderId'));
    const name = folderNames[index];
    if (id && name) ids.set(id, name);
  }
  // A mailbox without one of these folders still works; one where every folder fails does not.
  if (ids.size === 0 && firstFault) throw fromResponseCode(firstFault, errorContext(target));
  return ids;
}
