import { createHash, randomBytes } from 'node:crypto';

/**
 * Ids, change keys, watermarks and sync states as Exchange hands them out: opaque base64 strings, case-sensitive
 * (two ids may differ only in case), never to be parsed by a client. The emulator can read its own back.
 */

const itemPrefix = 'AAMkA';
const folderPrefix = 'AQMkA';
const occurrencePrefix = 'AAMkB';

export function newItemId(): string {
  return itemPrefix + randomBytes(18).toString('base64');
}

export function newFolderId(): string {
  return folderPrefix + randomBytes(18).toString('base64');
}

export function newAttachmentId(): string {
  return `AAMkC${randomBytes(24).toString('base64')}`;
}

/** Subscription ids and mailbox epochs. */
export function newToken(bytes = 16): string {
  return randomBytes(bytes).toString('base64');
}

/** A ChangeKey derived from the item and its version: it changes on every update and means nothing to a client. */
export function changeKeyOf(id: string, version: number): string {
  const digest = createHash('sha1').update(`${id}#${version}`).digest();
  return `CQAAAB${digest.subarray(0, 12).toString('base64')}`;
}

const base64Shape = /^[A-Za-z0-9+/]+={0,2}$/;

/** Exchange answers ErrorInvalidIdMalformed for ids that cannot be its own; anything else is looked up. */
export function isWellFormedId(id: string): boolean {
  return id.length >= 8 && id.length <= 512 && base64Shape.test(id);
}

/** An occurrence of a recurring series: the master's id and the occurrence's original start. */
export function occurrenceId(masterId: string, originalStart: string): string {
  return occurrencePrefix + Buffer.from(`${masterId}|${originalStart}`, 'utf8').toString('base64');
}

export function parseOccurrenceId(id: string): { masterId: string; originalStart: string } | undefined {
  if (!id.startsWith(occurrencePrefix)) return undefined;
  const decoded = Buffer.from(id.slice(occurrencePrefix.length), 'base64').toString('utf8');
  const bar = decoded.lastIndexOf('|');
  if (bar <= 0) return undefined;
  return { masterId: decoded.slice(0, bar), originalStart: decoded.slice(bar + 1) };
}

/** Opaque tokens the emulator reads back (sync states, watermarks): base64 of a few fields with a check digit. */
export function sealToken(kind: string, fields: (string | number)[]): string {
  const body = [kind, ...fields].join('\u0001');
  const check = createHash('sha1').update(body).digest().subarray(0, 4).toString('hex');
  return Buffer.from(`${body}\u0001${check}`, 'utf8').toString('base64');
}

export function openToken(kind: string, token: string): string[] | undefined {
  if (!base64Shape.test(token)) return undefined;
  const parts = Buffer.from(token, 'base64').toString('utf8').split('\u0001');
  const check = parts.pop();
  if (parts[0] !== kind || check === undefined) return undefined;
  const expected = createHash('sha1').update(parts.join('\u0001')).digest().subarray(0, 4).toString('hex');
  return check === expected ? parts.slice(1) : undefined;
}
