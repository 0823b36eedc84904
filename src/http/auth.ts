import { createHash, timingSafeEqual } from 'node:crypto';
import { type ExhError, errors } from '../errors.js';

/**
 * Whether a request may run an admin action: null when it may, else the error to answer with. Tokens are compared as
 * SHA-256 digests with timingSafeEqual, so neither the comparison's time nor the tokens' lengths tell anything.
 */
export function checkAdmin(authorization: string | undefined, adminToken: string | undefined): ExhError | null {
  if (!adminToken) return errors.httpAdminDisabled();
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match?.[1]) return errors.httpUnauthorized();
  return sameSecret(match[1], adminToken) ? null : errors.httpForbidden();
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
