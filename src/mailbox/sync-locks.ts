/**
 * The lock (and committed-watermark) key of a mailbox's item type: the address case-blind, as exh_get_users reduces
 * addresses, so that an outbox row naming the user in other letters meets the same lock.
 */
export const syncLockKey = (user: string, itemType: string) => `${user.toLowerCase()}\u0000${itemType}`;

/**
 * One sync at a time per mailbox and item type. An item-type actor that is stopped (a restart, a changed user list)
 * cannot wait for its database transaction in flight; the actor that replaces it waits here instead, so two syncs of
 * the same folders never apply pages side by side. The application's writes to items of the type take it too
 * (ConflictSettings.exclusive in src/sync/executors/outbox.ts), so a sync never meets a write half done: its echo before its
 * change key is remembered, or a decision of the conflict rule made on both sides at once.
 */
export class SyncLocks {
  readonly #tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const result = before.catch(() => {}).then(work);
    const tail = result.catch(() => {});
    this.#tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/**
 * The newest watermark each item type has committed, by mailbox and type. A restarted item type (after a back-off or
 * a crash) starts from here rather than from the watermark it was given when its mailbox started, so a catch-up
 * interrupted half-way resumes where it was instead of starting over.
 */
export class CommittedWatermarks {
  readonly #byKey = new Map<string, string>();

  get(key: string): string | undefined {
    return this.#byKey.get(key);
  }

  set(key: string, watermark: string): void {
    this.#byKey.set(key, watermark);
  }

  /**
   * In a cluster, when this instance takes a user's lease: what it committed before another instance held it is older
   * than what that one committed since (docs/architecture.md, "Several instances").
   */
  forget(users: readonly string[]): void {
    const prefixes = users.map((user) => syncLockKey(user, ''));
    for (const key of this.#byKey.keys())
      if (prefixes.some((prefix) => key.startsWith(prefix))) this.#byKey.delete(key);
  }

  /** At every (re)connection to the database: from then on the database's watermarks are the truth again. */
  clear(): void {
    this.#byKey.clear();
  }
}
