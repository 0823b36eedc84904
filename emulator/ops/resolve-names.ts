import type { OperationContext } from '../context.js';
import { viewOf } from '../items/calendar.js';
import { parseShape, renderItem } from '../items/render.js';
import { errorMessage, responseRoot, successMessage, warningMessage } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import { changeKeyOf } from '../store/ids.js';
import type { Mailbox } from '../store/mailbox.js';
import type { StoredFolder, StoredItem } from '../store/model.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { el, textEl } from '../xml/write.js';
import { resolveFolder } from './common.js';

/**
 * ResolveNames: an ambiguous name against the directory (the emulator's mailboxes) and the caller's contacts (the
 * Contacts folder, or the ParentFolderIds given), as SearchScope says; ActiveDirectoryContacts, the default, searches
 * the directory, then the contacts if the directory has no match. A name matches, as Exchange's ambiguous name
 * resolution does, when it starts a word of the display name, given name or surname, the alias (the address's local
 * part) or the address; `SMTP:address` matches that address only. A contact gives one resolution per e-mail address.
 * One match is Success; several are ResponseClass Warning with ErrorNameResolutionMultipleResults and every match (up
 * to 100); none is ErrorNameResolutionNoResults. ReturnFullContactData adds each match's Contact: the directory's
 * (ContactSource ActiveDirectory) or the stored contact (Default shape).
 */

interface Match {
  name: string;
  address: string;
  /** A directory mailbox, or a contact item with the e-mail address that matched. */
  mailbox?: Mailbox;
  contact?: StoredItem;
}

const maxResolutions = 100;

function words(value: string): string[] {
  return value
    .toLowerCase()
    .split(/[\s.,_@-]+/)
    .filter(Boolean);
}

function matches(entry: string, fields: string[], addresses: string[]): boolean {
  const wanted = entry.trim().toLowerCase();
  const smtp = /^smtp:(.+)$/i.exec(wanted);
  if (smtp) return addresses.some((address) => address.toLowerCase() === smtp[1]?.trim());
  if (addresses.some((address) => address.toLowerCase().startsWith(wanted))) return true;
  const wantedWords = words(wanted);
  if (wantedWords.length === 0) return false;
  for (const field of fields) {
    const lower = field.toLowerCase();
    if (lower.startsWith(wanted)) return true;
    // Several words: each must start a word of the field ("alice s" finds "Alice Smith").
    const fieldWords = words(lower);
    if (wantedWords.every((w) => fieldWords.some((f) => f.startsWith(w)))) return true;
  }
  return false;
}

function directory(ctx: OperationContext, entry: string): Match[] {
  return ctx.core.store
    .list()
    .filter((mailbox) => {
      const alias = mailbox.address.split('@')[0] ?? '';
      return matches(entry, [mailbox.displayName, alias], [mailbox.address]);
    })
    .sort((a, b) => a.displayName.localeCompare(b.displayName))
    .map((mailbox) => ({ name: mailbox.displayName, address: mailbox.address, mailbox }));
}

function propText(item: StoredItem, name: string): string {
  const value = item.props[name];
  return typeof value === 'string' ? value : '';
}

function contactAddresses(item: StoredItem): string[] {
  const value = item.props.EmailAddresses;
  if (typeof value !== 'object') return [];
  return children(value, 'Entry')
    .map((entry) => (entry.t ?? '').trim().replace(/^smtp:/i, ''))
    .filter(Boolean);
}

/** One resolution per e-mail address of each matching contact, as Exchange answers them. */
function contacts(ctx: OperationContext, folders: StoredFolder[], entry: string): Match[] {
  const out: Match[] = [];
  for (const folder of folders) {
    for (const item of ctx.mailbox.itemsIn(folder.id).values()) {
      if (item.kind !== 'Contact') continue;
      const addresses = contactAddresses(item);
      const names = ['DisplayName', 'GivenName', 'Surname', 'Nickname', 'FileAs'].map((n) => propText(item, n));
      if (!matches(entry, names.filter(Boolean), addresses)) continue;
      const name = propText(item, 'DisplayName') || addresses[0] || '';
      if (addresses.length === 0) out.push({ name, address: '', contact: item });
      for (const address of addresses) out.push({ name, address, contact: item });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function directoryContact(mailbox: Mailbox): string {
  const [given, ...rest] = mailbox.displayName.split(/\s+/);
  return el(
    't:Contact',
    undefined,
    textEl('t:DisplayName', mailbox.displayName) +
      (given ? textEl('t:GivenName', given) : '') +
      el('t:EmailAddresses', undefined, textEl('t:Entry', `SMTP:${mailbox.address}`, { Key: 'EmailAddress1' })) +
      textEl('t:ContactSource', 'ActiveDirectory') +
      (rest.length ? textEl('t:Surname', rest.join(' ')) : ''),
  );
}

function resolution(match: Match, full: boolean, ctx: OperationContext): string {
  const { contact } = match;
  const mailbox =
    textEl('t:Name', match.name) +
    (match.address ? textEl('t:EmailAddress', match.address) + textEl('t:RoutingType', 'SMTP') : '') +
    textEl('t:MailboxType', contact ? 'Contact' : 'Mailbox') +
    (contact ? el('t:ItemId', { Id: contact.id, ChangeKey: changeKeyOf(contact.id, contact.version) }) : '');
  let inner = el('t:Mailbox', undefined, mailbox);
  if (full && match.mailbox) inner += directoryContact(match.mailbox);
  if (full && contact) {
    inner += renderItem(
      viewOf(contact),
      parseShape({ n: 'ContactShape', c: [{ n: 'BaseShape', t: 'Default' }] }, true),
      ctx,
    );
  }
  return el('t:Resolution', undefined, inner);
}

export function resolveNames(request: XmlNode, ctx: OperationContext): string {
  const messageName = 'ResolveNamesResponseMessage';
  let inner: string;
  try {
    const entry = text(request, 'UnresolvedEntry') ?? '';
    const full = ['true', '1'].includes((request.a?.ReturnFullContactData ?? '').trim());
    const scope = request.a?.SearchScope ?? 'ActiveDirectoryContacts';
    const parents = children(child(request, 'ParentFolderIds'));
    const folders = parents.length ? parents.map((node) => resolveFolder(ctx, node)) : [ctx.mailbox.folder('contacts')];
    // The second source of ActiveDirectoryContacts and ContactsActiveDirectory is searched only when the first finds
    // nothing (Microsoft's ResolveNameSearchLocation: "and then against the Contacts folder if no match was found").
    const sources = {
      ActiveDirectory: [() => directory(ctx, entry)],
      Contacts: [() => contacts(ctx, folders, entry)],
      ActiveDirectoryContacts: [() => directory(ctx, entry), () => contacts(ctx, folders, entry)],
      ContactsActiveDirectory: [() => contacts(ctx, folders, entry), () => directory(ctx, entry)],
    }[scope] ?? [() => directory(ctx, entry), () => contacts(ctx, folders, entry)];
    let found: Match[] = [];
    for (const source of sources) {
      found = source().slice(0, maxResolutions);
      if (found.length > 0) break;
    }
    if (found.length === 0) throw new EwsError('ErrorNameResolutionNoResults');
    const set = el(
      'm:ResolutionSet',
      { TotalItemsInView: found.length, IncludesLastItemInRange: true },
      found.map((match) => resolution(match, full, ctx)).join(''),
    );
    inner =
      found.length === 1
        ? successMessage(messageName, set)
        : warningMessage(messageName, 'ErrorNameResolutionMultipleResults', set);
  } catch (error) {
    if (!(error instanceof EwsError)) throw error;
    inner = errorMessage(messageName, error);
  }
  return responseRoot('ResolveNamesResponse', `<m:ResponseMessages>${inner}</m:ResponseMessages>`);
}
