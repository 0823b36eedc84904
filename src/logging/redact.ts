import { maskConnectionString } from '../config/mask.js';

/** Keys (compared without case) whose values never reach a log line, at any depth. */
const secretKeys = new Set([
  'password',
  'pwd',
  'impersonationpassword',
  'token',
  'admintoken',
  'oauthtoken',
  'authorization',
  'connectionstring',
  // Microsoft Graph: the app registration's secret, and a change-notification subscription's clientState.
  'clientsecret',
  'clientstate',
]);

const maxDepth = 8;

/**
 * A copy of a log record's fields with secrets replaced by ***, at any depth (pino's own `redact` needs every path
 * spelled out, and a logged configuration object nests deeper than any list would stay correct). Objects without
 * secrets are returned as they are, so the common record costs one walk and no copy. In a connection string only
 * the password is masked, so host and database stay readable.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > maxDepth || value instanceof Date) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, index) => {
      const redacted = redactSecrets(item, depth + 1);
      if (redacted !== item) {
        copy ??= [...value];
        copy[index] = redacted;
      }
    });
    return (copy ?? value) as T;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    let redacted: unknown;
    if (secretKeys.has(key.toLowerCase()) && item !== null && item !== undefined) {
      redacted =
        key.toLowerCase() === 'connectionstring' && typeof item === 'string' ? maskConnectionString(item) : '***';
    } else {
      redacted = redactSecrets(item, depth + 1);
    }
    if (redacted !== item) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = redacted;
    }
  }
  return (copy ?? value) as T;
}
