import { z } from 'zod';
import {
  type FieldKind,
  findField,
  isItemTypeName,
  itemType,
  itemTypeByCode,
  itemTypeNames,
  itemTypes,
  textKinds,
} from '../items/index.js';
import type { SyncItemsRequest as ControlSyncItemsRequest, TimeRange } from '../ports/control.port.js';
import { type RequestType, requestTypes } from './request-types.js';

/**
 * The requests of the database listener (docs/protocol.md), as zod schemas. Every problem is reported by the path
 * of the field it concerns (`fields.start: …`), so that a sender's author can fix the request from the reply alone.
 * The token is checked by the listener before anything here runs and is not part of a DatabaseRequest: a handler
 * never sees it.
 */

export { type RequestType, requestTypes };

const text = z.string().min(1, { error: 'must not be empty' });
/** The original's senders pass flags as bits (docs/protocol.md, "syncItems"); JSON senders may pass booleans. */
const flag = z.union([z.boolean(), z.literal(0), z.literal(1)]).transform((value) => value === true || value === 1);
const isoDate = z.iso.date({ error: 'expected a date as YYYY-MM-DD' });
const isoDateTime = z.iso.datetime({ offset: true, local: true, error: 'expected an ISO 8601 timestamp' });
const dateBound = z.union([isoDate, isoDateTime]).nullable().default(null);

/** What a field of each kind may carry on the wire; null always means "unchanged". */
function valueSchema(kind: FieldKind): z.ZodType {
  if (textKinds.has(kind)) return z.string().nullable();
  switch (kind) {
    case 'boolean':
      return flag.nullable();
    case 'integer':
      return z.number().int().nullable();
    case 'timestamp':
      return isoDateTime.nullable();
    case 'date':
      return isoDate.nullable();
    default:
      return z.string().nullable();
  }
}

/** A field's value is one JSON scalar; an array or an object is named as such, not as zod's "Invalid input". */
export const fieldValue = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: (issue) =>
    `expected a string, a number, true/false or null, not ${Array.isArray(issue.input) ? 'an array' : 'an object'}`,
});
export type WireFieldValue = z.infer<typeof fieldValue>;

const itemRequest = z
  .strictObject({
    type: z.literal('item'),
    action: z.enum(['add', 'chg', 'del']),
    // Checked against the registry when a request arrives: a type registered before start is known (src/items).
    itemType: z.string().refine(isItemTypeName, {
      error: (issue) =>
        `unknown item type ${JSON.stringify(issue.input)}: expected one of ${itemTypeNames().join(', ')}`,
    }),
    user: text,
    /** By field name without the exh_ prefix (subject, start, …); null leaves a field unchanged, '' clears it. */
    fields: z.record(z.string(), fieldValue),
  })
  .superRefine((request, ctx) => {
    // An unknown type is refused by its own check; the fields of none can be judged.
    if (!isItemTypeName(request.itemType)) return;
    const definition = itemType(request.itemType);
    for (const [name, value] of Object.entries(request.fields)) {
      const field = findField(definition, name);
      if (!field) {
        const hint = name.startsWith('exh_') ? ' (field names go without the exh_ prefix)' : '';
        ctx.addIssue({ code: 'custom', path: ['fields', name], message: `${request.itemType} has no field${hint}` });
        continue;
      }
      if (value === '' && !textKinds.has(field.kind)) {
        const message = "'' clears only text fields; a value of this kind cannot be cleared (null leaves it unchanged)";
        ctx.addIssue({ code: 'custom', path: ['fields', name], message });
        continue;
      }
      const result = valueSchema(field.kind).safeParse(value);
      for (const issue of result.error?.issues ?? []) {
        ctx.addIssue({ code: 'custom', path: ['fields', name], message: issue.message });
      }
    }
    const id = (name: string) => {
      const value = request.fields[name];
      return typeof value === 'string' && value !== '';
    };
    if (request.action === 'add' && !id('app_item_id')) {
      ctx.addIssue({ code: 'custom', path: ['fields', 'app_item_id'], message: 'required for add' });
    }
    if (request.action !== 'add' && !id('item_id') && !id('app_item_id')) {
      ctx.addIssue({
        code: 'custom',
        path: ['fields', 'item_id'],
        message: `${request.action} needs item_id (or app_item_id)`,
      });
    }
  });

const syncItemsRequest = z.strictObject({
  type: z.literal('syncItems'),
  /** 0: Exchange → database; 1: database → Exchange (through exh_get_item_{type}). */
  direction: z.union([z.literal(0), z.literal(1)], {
    error: 'expected 0 (Exchange → database) or 1 (database → Exchange)',
  }),
  /** null: every user. */
  user: text.nullable().default(null),
  /** An item type by its number (0 calendar, 1 contact, 2 email, 3 task; docs/protocol.md); null: every type. */
  item: z
    .number({ error: (issue) => expectedItem(issue.input) })
    .refine((code) => itemTypeByCode(code) !== undefined, { error: (issue) => expectedItem(issue.input) })
    .nullable()
    .default(null),
  add: flag.default(true),
  chg: flag.default(true),
  /** Default: true for direction 0, false for direction 1 (deleting in Exchange must be asked for). */
  del: flag.optional(),
  createdFrom: dateBound,
  createdUntil: dateBound,
  modifiedFrom: dateBound,
  modifiedUntil: dateBound,
  receivedFrom: dateBound,
  receivedUntil: dateBound,
  startFrom: dateBound,
  startUntil: dateBound,
  /** Ask for progress lines before the reply (docs/protocol.md, "syncItems"); the original's senders never do. */
  progress: z.boolean().optional(),
});

/** What an item type's number must be, naming the value that is not one (7, or "2" as a string). */
function expectedItem(value: unknown): string {
  const codes = itemTypes.map((definition) => `${definition.code} (${definition.name})`).join(', ');
  const got =
    typeof value === 'string'
      ? `${JSON.stringify(echo(value))} (a string)`
      : typeof value === 'number'
        ? String(value)
        : kindOf(value);
  return `expected ${codes} or null, not ${got}`;
}

const getAttachmentRequest = z.strictObject({
  type: z.literal('getAttachment'),
  user: text,
  itemId: text,
  attachmentId: text,
});

const addAttachmentRequest = z.strictObject({
  type: z.literal('addAttachment'),
  user: text,
  itemId: text,
  name: text,
  contentType: text.default('application/octet-stream'),
  contentBase64: z.base64({ error: 'expected base64 (RFC 4648, with padding)' }),
});

const requestSchemas = {
  item: itemRequest,
  syncUsers: z.strictObject({ type: z.literal('syncUsers') }),
  syncItems: syncItemsRequest,
  getAttachment: getAttachmentRequest,
  addAttachment: addAttachmentRequest,
  ping: z.strictObject({ type: z.literal('ping') }),
} as const satisfies Record<RequestType, z.ZodType>;

export type ItemRequest = z.infer<typeof itemRequest>;
export type SyncItemsRequest = z.infer<typeof syncItemsRequest>;
export type GetAttachmentRequest = z.infer<typeof getAttachmentRequest>;
export type AddAttachmentRequest = z.infer<typeof addAttachmentRequest>;
/** A validated request as a handler receives it (defaults applied, no token). */
export type DatabaseRequest = { [T in RequestType]: z.infer<(typeof requestSchemas)[T]> }[RequestType];
/**
 * What a sender puts on the wire: a request as written (defaults may be left out) plus the token; `forwardedBy` only
 * from an instance of a cluster handing the request on (src/protocol/forwarding.ts).
 */
export type WireRequest = { [T in RequestType]: z.input<(typeof requestSchemas)[T]> }[RequestType] & {
  token: string;
  forwardedBy?: string;
};

/**
 * A validated syncItems request as the ControlPort takes it (src/ports/control.port.ts), the one reading of its
 * fields: the item type by its number in the registry (src/items), each range's bounds as instants (a date alone is
 * its midnight UTC, a timestamp without an offset is UTC), and deletions by default in direction 0 only.
 */
export function toSyncItemsRequest(request: SyncItemsRequest): ControlSyncItemsRequest {
  const created = timeRange(request.createdFrom, request.createdUntil);
  const modified = timeRange(request.modifiedFrom, request.modifiedUntil);
  const received = timeRange(request.receivedFrom, request.receivedUntil);
  const start = timeRange(request.startFrom, request.startUntil);
  return {
    direction: request.direction,
    user: request.user,
    itemType: request.item === null ? null : (itemTypeByCode(request.item)?.name ?? null),
    add: request.add,
    chg: request.chg,
    del: request.del ?? request.direction === 0,
    ...(created ? { created } : {}),
    ...(modified ? { modified } : {}),
    ...(received ? { received } : {}),
    ...(start ? { start } : {}),
  };
}

/** The wire form of a ControlPort syncItems request (the reverse of toSyncItemsRequest), to send it to a listener. */
export function toWireSyncItems(request: ControlSyncItemsRequest): SyncItemsRequest {
  const bound = (date: Date | undefined) => (date ? date.toISOString() : null);
  return {
    type: 'syncItems',
    direction: request.direction,
    user: request.user,
    item: request.itemType === null ? null : itemType(request.itemType).code,
    add: request.add,
    chg: request.chg,
    del: request.del,
    createdFrom: bound(request.created?.from),
    createdUntil: bound(request.created?.until),
    modifiedFrom: bound(request.modified?.from),
    modifiedUntil: bound(request.modified?.until),
    receivedFrom: bound(request.received?.from),
    receivedUntil: bound(request.received?.until),
    startFrom: bound(request.start?.from),
    startUntil: bound(request.start?.until),
  };
}

/**
 * A syncItems request's fields (without `type`) read by the listener's schema and toSyncItemsRequest, for callers
 * that hold them in another form (the outbox's exh_sync_item row): `names` turns a field into the caller's own name
 * for its problems (item → exh_item), so that both refuse the same values in the same words.
 */
export function parseSyncItems(
  fields: Record<string, unknown>,
  names: (field: string) => string = (field) => field,
): { ok: true; request: ControlSyncItemsRequest } | { ok: false; problem: string } {
  const result = syncItemsRequest.safeParse({ ...fields, type: 'syncItems' });
  if (result.success) return { ok: true, request: toSyncItemsRequest(result.data) };
  const renamed = result.error.issues.map((issue) =>
    issue.path.length > 0 ? { ...issue, path: [names(String(issue.path[0])), ...issue.path.slice(1)] } : issue,
  );
  return { ok: false, problem: describeIssues(renamed) };
}

function timeRange(from: string | null, until: string | null): TimeRange | undefined {
  if (from === null && until === null) return undefined;
  return { ...(from === null ? {} : { from: instant(from) }), ...(until === null ? {} : { until: instant(until) }) };
}

/** A bound the schema accepted: YYYY-MM-DD, or an ISO 8601 timestamp ending in Z, in ±hh:mm, or in nothing. */
function instant(bound: string): Date {
  return new Date(bound.length === 10 || /(?:Z|[+-]\d{2}:\d{2})$/.test(bound) ? bound : `${bound}Z`);
}

export type ParseResult = { ok: true; request: DatabaseRequest; forwardedBy?: string } | { ok: false; problem: string };

/**
 * Validates a decoded JSON value whose token has already been checked (the `token` key is ignored here). The envelope's
 * `forwardedBy` (the instance id that handed the request on, docs/protocol.md) is returned apart from the request.
 */
export function parseRequest(value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'the request must be a JSON object' };
  }
  const { token: _token, forwardedBy, ...body } = value as Record<string, unknown>;
  if (forwardedBy !== undefined && (typeof forwardedBy !== 'string' || forwardedBy === '')) {
    return { ok: false, problem: 'forwardedBy: expected the id of the instance that handed the request on' };
  }
  const type = body.type;
  if (typeof type !== 'string' || !(requestTypes as readonly string[]).includes(type)) {
    const got =
      type === undefined
        ? 'missing'
        : typeof type === 'string'
          ? `${JSON.stringify(echo(type))} is unknown`
          : `${kindOf(type)} instead of a string`;
    return { ok: false, problem: `type: ${got}; expected one of ${requestTypes.join(', ')}` };
  }
  const result = requestSchemas[type as RequestType].safeParse(body);
  if (!result.success) return { ok: false, problem: describeIssues(result.error.issues) };
  const request = result.data as DatabaseRequest;
  return forwardedBy === undefined ? { ok: true, request } : { ok: true, request, forwardedBy };
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map((segment) => echo(String(segment))).join('.');
      if (issue.code === 'unrecognized_keys') {
        const where = path ? `${path}.` : '';
        return issue.keys.map((key) => `${where}${echo(key)}: not a field of this request`).join('; ');
      }
      return `${path || '(request)'}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * At most this much of a name or value a client sent is repeated in its reply and in the log: a request line may be
 * 16 MiB, and a key or a type that long would otherwise come back whole (docs/reliability.md, "Bad input").
 */
const maxEcho = 64;

function echo(text: string): string {
  return text.length <= maxEcho ? text : `${text.slice(0, maxEcho)}… (${text.length} characters)`;
}

/** What a JSON value is, named without repeating it: the value may be nested deeper than any stack (JSON.stringify). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
