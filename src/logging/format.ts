import type { Category } from './logger.js';

/** The child-logger bindings that say who speaks; they go in brackets, in this order. */
const bracketKeys = ['actor', 'user', 'itemType'] as const;
/** Keys the line already shows in its fixed columns, or that say nothing to a reader. */
const hiddenKeys = new Set<string>(['level', 'cat', 'time', 'msg', 'pid', 'hostname', ...bracketKeys]);
const validCategories = new Set<unknown>(['E', 'W', 'A', 'M']);

/**
 * The category letter of a record. Records from our logger always carry `cat`; anything else counts as a Message,
 * which is "everything else" (docs/operations.md, "Watching the log"), so it is never lost behind a filter that the
 * reader cannot name.
 */
export function recordCategory(record: Record<string, unknown>): Category {
  const cat = record?.cat;
  return validCategories.has(cat) ? (cat as Category) : 'M';
}

/**
 * The one-line readable form of a pino record, used by the console and the log feed:
 * `A 2026-11-25 09:30:00.123 [mailbox alice@contoso.test calendar] subscribed key=value`.
 * Never throws: a logger that fails on its own output would hide the very record someone needs.
 */
export function formatRecord(record: Record<string, unknown>): string {
  try {
    if (record === null || typeof record !== 'object') return `M - ${valueText(record)}`;
    const parts: string[] = [recordCategory(record), timeText(record.time)];
    const bindings = bracketKeys.filter((key) => record[key] !== undefined).map((key) => plainText(record[key]));
    if (bindings.length > 0) parts.push(`[${bindings.join(' ')}]`);
    if (record.msg !== undefined && record.msg !== '') parts.push(plainText(record.msg));
    for (const [key, value] of Object.entries(record)) {
      if (hiddenKeys.has(key) || value === undefined) continue;
      if (key === 'err') parts.push(...errorParts(value));
      else parts.push(`${escapeControls(key)}=${valueText(value)}`);
    }
    return parts.join(' ');
  } catch {
    return 'M - unprintable log record';
  }
}

function timeText(time: unknown): string {
  if (typeof time === 'number' && Number.isFinite(time)) return isoText(new Date(time).toISOString());
  if (typeof time === 'string' && time !== '') return isoText(escapeControls(time));
  return '-';
}

/** `2026-11-25T09:30:00.123Z` reads as `2026-11-25 09:30:00.123`; the feed speaks UTC like the records. */
function isoText(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d+)?)Z$/.exec(iso);
  return match ? `${match[1]} ${match[2]}` : iso;
}

/** The stack stays out: it spans lines, and the JSON log on stdout keeps it for whoever needs it. */
function errorParts(err: unknown): string[] {
  if (err === null || typeof err !== 'object') return [`err=${valueText(err)}`];
  const { code, message } = err as { code?: unknown; message?: unknown };
  const parts: string[] = [];
  if (code !== undefined) parts.push(`err.code=${valueText(code)}`);
  if (message !== undefined) parts.push(`err.message=${valueText(message)}`);
  if (parts.length > 0) return parts;
  const { stack: _stack, ...rest } = err as Record<string, unknown>;
  return [`err=${valueText(rest)}`];
}

/** Text shown as is (bindings, message): only control characters are escaped. */
function plainText(value: unknown): string {
  return escapeControls(typeof value === 'string' ? value : jsonText(value));
}

/** A key=value value: strings bare unless a space or quote would make the line ambiguous; the rest as JSON. */
function valueText(value: unknown): string {
  if (typeof value !== 'string') return escapeControls(jsonText(value));
  if (value === '' || /[\s"]/.test(value)) return escapeControls(JSON.stringify(value));
  return escapeControls(value);
}

function jsonText(value: unknown): string {
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // A cycle or a throwing toJSON: the key still shows that something was there.
    return '[unserializable]';
  }
}

/**
 * A crafted subject or user name must not start a fake line in the feed or move a terminal's cursor, so every C0/C1
 * control and Unicode line separator becomes a visible escape (`\n`, `\u001b`).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const controlPattern = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const namedEscapes: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeControls(text: string): string {
  return text.replace(
    controlPattern,
    (char) => namedEscapes[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
