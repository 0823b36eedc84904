import { randomBytes } from 'node:crypto';
import { appendFileSync, createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { secretKeys } from '../../src/config/schema.js';
import { testLogDirVariable } from '../../src/logging/logger.js';

/**
 * Secrets never reach a log (docs/reliability.md, "Bad input"): while a test run lasts, every logger of every test
 * process appends its records to `$EXH_TEST_LOG_DIR/log-<pid>.jsonl` (src/logging/logger.ts), and the tests write the
 * secrets they use to `secrets-<pid>.jsonl` in the same folder (registerSecret). At the end of the run
 * test/support/global-setup.ts scans every log for every secret and fails the run naming the file and the secret's
 * key, never the secret.
 */

/** Shorter values would be found in ordinary words ('exh', 'postgres'): they are not registered. */
export const minSecretLength = 12;

const registered = new Set<string>();

/** Notes a secret a test uses (or the connector under test was given), so that the end of the run looks for it. */
export function registerSecret(key: string, value: unknown): void {
  const folder = process.env[testLogDirVariable];
  if (!folder || typeof value !== 'string' || value.length < minSecretLength) return;
  const entry = `${key}\u0000${value}`;
  if (registered.has(entry)) return;
  registered.add(entry);
  appendFileSync(join(folder, `secrets-${process.pid}.jsonl`), `${JSON.stringify({ key, value })}\n`, { mode: 0o600 });
}

/** A new distinctive secret (letters and digits only, so it reads the same in JSON, URLs and base64 input), registered. */
export function testSecret(key: string): string {
  const value = `exhsecret${randomBytes(12).toString('hex')}`;
  registerSecret(key, value);
  return value;
}

/**
 * Registers every secret of a configuration object (as written, before the schema): the keys the schema calls
 * secret, the password of a connection string, and the Basic credentials the impersonation password travels in.
 */
export function registerConfigSecrets(config: unknown, path = ''): void {
  if (Array.isArray(config)) {
    for (const item of config) registerConfigSecrets(item, path);
    return;
  }
  if (config === null || typeof config !== 'object') return;
  const object = config as Record<string, unknown>;
  for (const [key, value] of Object.entries(object)) {
    const where = path ? `${path}.${key}` : key;
    if (typeof value === 'string' && secretKeys.has(key)) {
      if (key === 'connectionString') registerSecret(`${where} (password)`, connectionStringPassword(value));
      else registerSecret(where, value);
      if (key === 'impersonationPassword' && typeof object.impersonationUser === 'string') {
        const basic = Buffer.from(`${object.impersonationUser}:${value}`).toString('base64');
        registerSecret(`${where} (Basic credentials)`, basic);
      }
    } else {
      registerConfigSecrets(value, where);
    }
  }
}

/** The password of `scheme://user:password@host/…` or of `…;Password=…;` (SQL Server, DB2), if any. */
export function connectionStringPassword(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.password) return decodeURIComponent(url.password);
  } catch {
    // The keyword form.
  }
  return /\b(?:password|pwd)\s*=\s*([^;]*)/i.exec(text)?.[1]?.trim();
}

export interface Leak {
  /** The log file, relative to the folder. */
  file: string;
  /** 1-based line of the first occurrence in that file. */
  line: number;
  /** The key the secret was registered under (never the secret). */
  key: string;
}

export interface ScanResult {
  leaks: Leak[];
  files: number;
  bytes: number;
  secrets: number;
}

/** Every registered secret of the folder, by value, with the keys it was registered under. */
function readSecrets(folder: string): Map<string, Set<string>> {
  const secrets = new Map<string, Set<string>>();
  for (const name of readdirSync(folder)) {
    if (!/^secrets-.*\.jsonl$/.test(name)) continue;
    for (const line of readFileSync(join(folder, name), 'utf8').split('\n')) {
      if (line === '') continue;
      const { key, value } = JSON.parse(line) as { key: string; value: string };
      const keys = secrets.get(value) ?? new Set<string>();
      keys.add(key);
      secrets.set(value, keys);
    }
  }
  return secrets;
}

/**
 * Scans every log file of the folder (`*.jsonl` but the secrets) for every registered secret, in one pass per file
 * (one pattern of all the secrets), reading in chunks that overlap by the longest secret, so that a secret split
 * between two chunks is still found and no file is held whole in memory.
 */
export async function scanLogs(folder: string): Promise<ScanResult> {
  const secrets = readSecrets(folder);
  const files = readdirSync(folder).filter((name) => name.endsWith('.jsonl') && !name.startsWith('secrets-'));
  const result: ScanResult = { leaks: [], files: files.length, bytes: 0, secrets: secrets.size };
  if (secrets.size === 0) return result;
  const values = [...secrets.keys()].sort((a, b) => b.length - a.length);
  const longest = values[0]?.length ?? 0;
  const pattern = new RegExp(values.map((value) => value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g');
  for (const file of files) {
    const found = new Map<string, number>();
    let carried = '';
    /** Newlines in the text before `carried`. */
    let linesBefore = 0;
    for await (const chunk of createReadStream(join(folder, file), { encoding: 'utf8', highWaterMark: 1 << 22 })) {
      const text = carried + (chunk as string);
      result.bytes += Buffer.byteLength(chunk as string);
      pattern.lastIndex = 0;
      for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
        if (!found.has(match[0])) found.set(match[0], linesBefore + countLines(text, match.index) + 1);
        pattern.lastIndex = match.index + 1;
      }
      const keep = Math.min(text.length, longest - 1);
      linesBefore += countLines(text, text.length - keep);
      carried = text.slice(text.length - keep);
    }
    for (const [value, line] of found) {
      for (const key of secrets.get(value) ?? []) result.leaks.push({ file, line, key });
    }
  }
  return result;
}

function countLines(text: string, end: number): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at >= 0 && at < end; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

/** What the run says about its leaks: the file, the line and the secret's key, never the secret itself. */
export function describeLeaks(result: ScanResult, folder: string): string {
  return [
    `log scan: ${result.leaks.length} secret(s) found in the test logs of ${folder} (kept for inspection):`,
    ...result.leaks.map((leak) => `  ${leak.file} line ${leak.line}: the secret registered as ${leak.key}`),
    'A secret reached a log record: redact it at its source (src/logging/redact.ts, docs/reliability.md).',
  ].join('\n');
}
