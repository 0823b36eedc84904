import { createHash } from 'node:crypto';
import type { User } from '@microsoft/microsoft-graph-types';
import type { Mailbox } from '../../store/mailbox.js';
import { type GraphResponse, ok } from '../http.js';

/** GET /users/{upn} (https://learn.microsoft.com/graph/api/user-get): the mailbox's user, with a stable id. */

export function userIdOf(mailbox: Mailbox): string {
  const hex = createHash('sha1').update(mailbox.address).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function getUser(mailbox: Mailbox, origin: string): GraphResponse {
  const user: User & Record<string, unknown> = {
    '@odata.context': `${origin}/graph/v1.0/$metadata#users/$entity`,
    id: userIdOf(mailbox),
    userPrincipalName: mailbox.address,
    mail: mailbox.address,
    displayName: mailbox.displayName,
  };
  return ok(user);
}
