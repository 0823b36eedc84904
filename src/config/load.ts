import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parseDocument, parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describe, errors } from '../errors.js';
import { type Config, configSchema, secretKeys } from './schema.js';

export const defaultConfigFile = 'exh.config.json';

/** Environment variables that are not configuration keys (EXH_TEST_LOG_DIR: the test suite's, src/logging/logger.ts). */
// EXH_EWS_SCHEMA_DIR is where the emulator's schema checks find Microsoft's schema (docs/emulator.md); CI sets it.
const reservedVariables = new Set(['EXH_CONFIG', 'EXH_TEST_LOG_DIR', 'EXH_EWS_SCHEMA_DIR']);

export interface LoadOptions {
  /** A file the user named (--config): it must exist. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  /** The file read, or null when everything came from the environment. */
  file: string | null;
  /** The environment variables that overrode a key. */
  fromEnv: string[];
  /** What is allowed but unwise (a file with secrets that others can read): `exh start` logs each as W. */
  warnings: string[];
}

interface Leaf {
  path: string[];
  env: string;
  kind: 'number' | 'boolean' | 'string' | 'list';
}

/**
 * Reads the file (JSON, or YAML by extension), lays EXH_… variables over it and validates the result.
 * Throws EXH_CONFIG_NOT_FOUND / EXH_CONFIG_UNREADABLE / EXH_CONFIG_INVALID, whose messages name the key and what
 * was expected; values are never echoed, so a secret in the wrong place is not printed either.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const named = options.file ?? env.EXH_CONFIG;
  const file = resolve(cwd, named ?? defaultConfigFile);
  let raw: unknown = {};
  let used: string | null = null;
  if (existsSync(file)) {
    raw = readConfigFile(file);
    used = file;
  } else if (named !== undefined) {
    throw errors.configNotFound(file);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw errors.configInvalid(file, ['(top level): expected an object of settings']);
  }
  const { merged, fromEnv, problems } = applyEnvironment(raw as Record<string, unknown>, env);
  const source = describeSource(used, fromEnv);
  const result = configSchema.safeParse(merged);
  if (problems.length > 0 || !result.success) {
    const envByPath = new Map(envLeaves().map((leaf) => [leaf.path.join('.'), leaf.env]));
    const issues = result.success
      ? []
      : result.error.issues.flatMap((issue) => describeIssue(issue, envByPath, fromEnv));
    throw errors.configInvalid(source, [...problems, ...issues]);
  }
  const warnings = used === null ? [] : fileWarnings(used, raw as Record<string, unknown>);
  return { config: result.data, file: used, fromEnv, warnings };
}

/**
 * A configuration file that holds a secret (a password, a token, a connection string) and that users other than its
 * owner may read gives the secret away (docs/configuration.md, "Secrets"). Not on Windows, where modes mean nothing.
 */
function fileWarnings(file: string, raw: Record<string, unknown>, platform = process.platform): string[] {
  if (platform === 'win32') return [];
  const secrets = secretPaths(raw, []);
  if (secrets.length === 0) return [];
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return [];
  return [
    `${file} holds secrets (${secrets.join(', ')}) and can be read by ${mode & 0o007 ? 'every user of this machine' : 'its group'} ` +
      `(mode ${mode.toString(8).padStart(3, '0')}): chmod 600 ${file}, or pass the secrets as EXH_… variables instead.`,
  ];
}

function secretPaths(node: Record<string, unknown>, path: string[]): string[] {
  return Object.entries(node).flatMap(([key, value]) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return secretPaths(value as Record<string, unknown>, [...path, key]);
    }
    if (!secretKeys.has(key) || typeof value !== 'string' || value === '') return [];
    // A connection string is a secret only when it carries a password (trust or integrated logins carry none).
    if (key === 'connectionString' && !/:\/\/[^/@:]+:[^@]+@|password\s*=|pwd\s*=/i.test(value)) return [];
    return [[...path, key].join('.')];
  });
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw errors.configUnreadable(file, `it cannot be opened (${describe(cause)})`);
  }
  const yaml = ['.yaml', '.yml'].includes(extname(file).toLowerCase());
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (cause) {
    // Parsers quote the offending text, which may be a password: say only where the problem is.
    throw errors.configUnreadable(file, `${yaml ? 'YAML' : 'JSON'} syntax error ${syntaxErrorPlace(text, cause)}`);
  }
}

function syntaxErrorPlace(text: string, cause: unknown): string {
  const linePos = (cause as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
  if (linePos) return `at line ${linePos.line}, column ${linePos.col}`;
  const position = /at position (\d+)/.exec(String((cause as Error)?.message))?.[1];
  if (position !== undefined) {
    const before = text.slice(0, Number(position)).split('\n');
    return `at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
  }
  // V8 names no position for an unexpected token; the JSON-only YAML parser finds the same spot.
  const place = parseDocument(text, { schema: 'json' }).errors[0]?.linePos?.[0];
  return place ? `at line ${place.line}, column ${place.col}` : '(position unknown)';
}

function describeSource(file: string | null, fromEnv: string[]): string {
  const parts = [file ?? `no file (${defaultConfigFile} not found)`];
  if (fromEnv.length > 0) parts.push(`environment: ${fromEnv.join(', ')}`);
  return parts.join('; ');
}

/** EXH_ + each path segment in SCREAMING_SNAKE_CASE: exchange.timeoutMs → EXH_EXCHANGE_TIMEOUT_MS. */
export function envName(path: readonly string[]): string {
  return `EXH_${path.map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

let leavesCache: Leaf[] | undefined;

/** Every configuration key with its environment variable, read off the schema so that the two cannot drift. */
export function envLeaves(): Leaf[] {
  leavesCache ??= collectLeaves(configSchema, []);
  return leavesCache;
}

function collectLeaves(schema: z.ZodType, path: string[]): Leaf[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
      collectLeaves(child, [...path, key]),
    );
  }
  const kind =
    inner instanceof z.ZodNumber
      ? 'number'
      : inner instanceof z.ZodBoolean
        ? 'boolean'
        : inner instanceof z.ZodArray
          ? 'list'
          : 'string';
  return [{ path, env: envName(path), kind }];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodPrefault) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function applyEnvironment(raw: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  const merged = structuredClone(raw);
  const fromEnv: string[] = [];
  const problems: string[] = [];
  const leaves = new Map(envLeaves().map((leaf) => [leaf.env, leaf]));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('EXH_') || value === undefined || reservedVariables.has(name)) continue;
    const leaf = leaves.get(name);
    if (!leaf) {
      problems.push(
        `${name}: unknown environment variable (every EXH_ variable must name a key; see docs/configuration.md)`,
      );
      continue;
    }
    setPath(merged, leaf.path, coerce(value, leaf.kind));
    fromEnv.push(name);
  }
  return { merged, fromEnv, problems };
}

/** Turns the text of a variable into the key's type; anything else is left as text for zod to reject by name. */
function coerce(value: string, kind: Leaf['kind']): unknown {
  const text = value.trim();
  if (kind === 'number' && text !== '' && Number.isFinite(Number(text))) return Number(text);
  if (kind === 'boolean' && /^(true|false|1|0)$/i.test(text)) return /^(true|1)$/i.test(text);
  // A list is comma-separated: EXH_LISTENERS_HTTP_ALLOWED_HOSTS=exh.contoso.com,exh.
  if (kind === 'list') return text === '' ? [] : text.split(',').map((item) => item.trim());
  return value;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function describeIssue(issue: z.core.$ZodIssue, envByPath: Map<string, string>, fromEnv: string[]): string[] {
  const key = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((unknown) => {
      const where = key ? `${key}.${unknown}` : unknown;
      return `${where}: unknown key (allowed here: ${allowedKeys(issue.path.map(String)).join(', ')})`;
    });
  }
  const variable = envByPath.get(key);
  const origin = variable && fromEnv.includes(variable) ? ` (from ${variable})` : '';
  const missing = issue.code === 'invalid_type' && issue.message.includes('received undefined');
  const text = issue.message.replace(/^Invalid input: /, '');
  const message = missing ? `required: ${text.replace(/, received undefined$/, '')}` : text;
  return [`${key || '(top level)'}${origin}: ${message}`];
}

function allowedKeys(path: string[]): string[] {
  const depth = path.length;
  const keys = envLeaves()
    .filter((leaf) => leaf.path.length > depth && path.every((segment, i) => leaf.path[i] === segment))
    .map((leaf) => leaf.path[depth] as string);
  return [...new Set(keys)];
}
