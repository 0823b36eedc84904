import { createHash } from 'node:crypto';

/**
 * Rendezvous (highest-random-weight) hashing: the owner of a user is the member whose hash of (member, lower(user))
 * is highest, so adding a member moves only the users it now ranks first and removing one moves only its own users
 * (docs/architecture.md, "Several instances"). Pure: the same members and user give the same owner on every instance.
 */
export function weight(memberId: string, user: string): bigint {
  const digest = createHash('sha256').update(memberId).update('\u0000').update(user.toLowerCase()).digest();
  return digest.readBigUInt64BE(0);
}

/** The member that owns `user`, or undefined with no members. Ties (vanishingly rare) go to the smaller id. */
export function ownerOf(user: string, memberIds: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const id of memberIds) {
    const w = weight(id, user);
    if (w > bestWeight || (w === bestWeight && best !== undefined && id < best)) {
      best = id;
      bestWeight = w;
    }
  }
  return best;
}

/** The users among `users` that `memberId` owns among `memberIds` (it must be one of them to own any). */
export function ownedBy<T extends string>(memberId: string, users: readonly T[], memberIds: readonly string[]): T[] {
  if (!memberIds.includes(memberId)) return [];
  return users.filter((user) => ownerOf(user, memberIds) === memberId);
}

/** Commands without a user go to the live member with the smallest instanceId. */
export function coordinatorOf(memberIds: readonly string[]): string | undefined {
  return [...memberIds].sort()[0];
}
