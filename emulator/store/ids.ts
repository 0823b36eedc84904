import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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

/** Graph's immutable item ids (https://learn.microsoft.com/graph/outlook-immutable-id): URL-safe base64. */
export function newImmutableId(): string {
  return `AAkALg${randomBytes(30).toString('base64url')}`;
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

/**
 * Opaque tokens the emulator reads back (sync states, watermarks): a few fields and an HMAC-SHA256 under the
 * emulator's secret, base64. A client cannot forge one or alter one it holds. The secret is kept in the data file, so
 * sync states and watermarks handed out before a restart with --data keep working after it.
 */
export class TokenSeal {
  private key: Buffer;

  constructor(secret?: string) {
    this.key = secret ? Buffer.from(secret, 'base64') : randomBytes(32);
  }

  /** The secret, base64 (persisted with the mailboxes). */
  get secret(): string {
    return this.key.toString('base64');
  }

  set secret(value: string) {
    const key = Buffer.from(value, 'base64');
    if (key.length < 16) throw new Error('the token secret must be at least 16 bytes of base64');
    this.key = key;
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, 16);
  }

  seal(kind: string, fields: (string | number)[]): string {
    const body = [kind, ...fields].join('\u0001');
    return Buffer.from(`${body}\u0001${this.mac(body).toString('base64')}`, 'utf8').toString('base64');
  }

  /** The fields of a token of this kind that this emulator sealed, or undefined. */
  open(kind: string, token: string): string[] | undefined {
    if (!base64Shape.test(token)) return undefined;
    const parts = Buffer.from(token, 'base64').toString('utf8').split('\u0001');
    const mac = Buffer.from(parts.pop() ?? '', 'base64');
    if (parts[0] !== kind) return undefined;
    const expected = this.mac(parts.join('\u0001'));
    return mac.length === expected.length && timingSafeEqual(mac, expected) ? parts.slice(1) : undefined;
  }
}
