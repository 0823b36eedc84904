import type { Core } from '../context.js';
import { EwsError } from '../soap/response-codes.js';
import { isWellFormedId } from '../store/ids.js';
import { child, children, type XmlNode } from '../xml/node.js';
import { el } from '../xml/write.js';
import { responseMessages } from './common.js';

/**
 * ConvertId: an item or folder id from one of Exchange's formats into another (DestinationFormat), one response
 * message per source id, no change keys. Exchange converts without reading the item (a well-formed id of an item
 * that is gone still converts), but the mailbox named must exist. The emulator's ids are its own, so its other
 * formats are its own too, each reversible and each recognisable, shaped as Exchange's are:
 *
 * - EwsId: the id EWS hands out (`AAMkA…` items, `AQMkA…` folders).
 * - EntryId: base64 of a MAPI entry id: four flag bytes (zero), the emulator's 16-byte store provider GUID, and the
 *   EwsId's bytes. HexEntryId: the same bytes in upper-case hex (what Outlook's object model and MFCMAPI show).
 * - StoreId: base64 of the entry id followed by one byte, the object's type (1 folder, 2 item), as Exchange's
 *   StoreObjectId.
 * - OwaId: Exchange 2007 OWA's id: the StoreId, URL-encoded.
 * - EwsLegacyId: Exchange 2007's EWS id: base64 of a marker byte, the mailbox address's length and bytes, then the
 *   entry id (a 2007 id carries its mailbox; the one converted from names the mailbox it was converted in).
 *
 * An id that is not of the format it claims is ErrorInvalidIdMalformed (ErrorInvalidIdMalformedEwsLegacyIdFormat for
 * EwsLegacyId); a mailbox that is not here is ErrorNonExistentMailbox; an archive id (`IsArchive`) is
 * ErrorArchiveMailboxNotEnabled, and a public folder id ErrorFolderNotFound: the emulated mailboxes have neither. This
 * is how exchangelib learns the server's version (a ConvertId of the id "DUMMY" answers an error message with
 * ServerVersionInfo in the header), so ConvertId needs no mailbox of the caller's (ews.ts).
 */

const formats = ['EwsLegacyId', 'EwsId', 'EntryId', 'HexEntryId', 'StoreId', 'OwaId'] as const;
type IdFormat = (typeof formats)[number];

/** The emulator's store provider GUID in entry ids (any fixed 16 bytes; Exchange's are per mailbox database). */
const providerUid = Buffer.from('e4e0000000000000e4e0e4e0000000e4', 'hex');
const legacyMarker = 0x4c;
const folderType = 1;
const itemType = 2;

function entryIdOf(ewsId: string): Buffer {
  return Buffer.concat([Buffer.alloc(4), providerUid, Buffer.from(ewsId, 'latin1')]);
}

/** The EwsId inside an entry id, when the entry id is one of the emulator's. */
function ewsIdOfEntryId(entryId: Buffer): string | undefined {
  if (entryId.length < 20 + 8 || entryId.readUInt32BE(0) !== 0 || !entryId.subarray(4, 20).equals(providerUid)) {
    return undefined;
  }
  const id = entryId.subarray(20).toString('latin1');
  return isWellFormedId(id) ? id : undefined;
}

const base64 = /^[A-Za-z0-9+/]+={0,2}$/;

function fromBase64(value: string): Buffer | undefined {
  return base64.test(value) && value.length % 4 === 0 ? Buffer.from(value, 'base64') : undefined;
}

function fromStoreId(value: string): string | undefined {
  const bytes = fromBase64(value);
  if (!bytes || bytes.length < 2) return undefined;
  const type = bytes[bytes.length - 1];
  if (type !== folderType && type !== itemType) return undefined;
  return ewsIdOfEntryId(bytes.subarray(0, -1));
}

/** The EwsId a source id stands for, or undefined when it is not an id of that format. */
function toEwsId(format: IdFormat, id: string): string | undefined {
  switch (format) {
    case 'EwsId':
      return isWellFormedId(id) ? id : undefined;
    case 'EntryId': {
      const bytes = fromBase64(id);
      return bytes && ewsIdOfEntryId(bytes);
    }
    case 'HexEntryId':
      return /^(?:[0-9A-Fa-f]{2})+$/.test(id) ? ewsIdOfEntryId(Buffer.from(id, 'hex')) : undefined;
    case 'StoreId':
      return fromStoreId(id);
    case 'OwaId': {
      let decoded: string;
      try {
        decoded = decodeURIComponent(id);
      } catch {
        return undefined;
      }
      return fromStoreId(decoded);
    }
    case 'EwsLegacyId': {
      const bytes = fromBase64(id);
      if (!bytes || bytes[0] !== legacyMarker || bytes.length < 2) return undefined;
      const length = bytes[1] ?? 0;
      return ewsIdOfEntryId(bytes.subarray(2 + length));
    }
  }
}

function fromEwsId(format: IdFormat, ewsId: string, mailbox: string): string {
  const entryId = entryIdOf(ewsId);
  const storeId = () =>
    Buffer.concat([entryId, Buffer.from([ewsId.startsWith('AQMk') ? folderType : itemType])]).toString('base64');
  switch (format) {
    case 'EwsId':
      return ewsId;
    case 'EntryId':
      return entryId.toString('base64');
    case 'HexEntryId':
      return entryId.toString('hex').toUpperCase();
    case 'StoreId':
      return storeId();
    case 'OwaId':
      return encodeURIComponent(storeId());
    case 'EwsLegacyId': {
      const address = Buffer.from(mailbox, 'utf8');
      return Buffer.concat([Buffer.from([legacyMarker, address.length]), address, entryId]).toString('base64');
    }
  }
}

function isFormat(value: string | undefined): value is IdFormat {
  return (formats as readonly string[]).includes(value ?? '');
}

function convertOne(core: Core, source: XmlNode, destination: IdFormat): string {
  if (source.n !== 'AlternateId') {
    throw new EwsError('ErrorFolderNotFound', 'There are no public folders in the emulator.');
  }
  const format = source.a?.Format;
  const id = source.a?.Id ?? '';
  if (!isFormat(format)) throw new EwsError('ErrorInvalidRequest', `Format ${format} is not an id format.`);
  if (!id) throw new EwsError('ErrorInvalidIdEmpty');
  const ewsId = toEwsId(format, id);
  if (ewsId === undefined) {
    throw new EwsError(
      format === 'EwsLegacyId' ? 'ErrorInvalidIdMalformedEwsLegacyIdFormat' : 'ErrorInvalidIdMalformed',
    );
  }
  const mailbox = core.store.get(source.a?.Mailbox ?? '');
  if (!mailbox) throw new EwsError('ErrorNonExistentMailbox');
  if (/^(?:true|1)$/.test(source.a?.IsArchive?.trim() ?? '')) throw new EwsError('ErrorArchiveMailboxNotEnabled');
  const converted = fromEwsId(destination, ewsId, mailbox.address);
  return el('m:AlternateId', {
    'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
    'xsi:type': 't:AlternateIdType',
    Format: destination,
    Id: converted,
    Mailbox: mailbox.address,
  });
}

export function convertId(request: XmlNode, core: Core): string {
  const destination = request.a?.DestinationFormat;
  const sources = children(child(request, 'SourceIds'));
  return responseMessages('ConvertId', sources, (source) => {
    if (!isFormat(destination)) throw new EwsError('ErrorInvalidRequest', `${destination} is not an id format.`);
    return convertOne(core, source, destination);
  });
}
