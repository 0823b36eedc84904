/**
 * What the connector itself last wrote to each item in Exchange, until the sync meets the item again (the echo;
 * src/sync/decisions/echo.ts decides what is skipped): an update's change key, or a deletion (null). Shared by the
 * outbox, which tells it each write under the sync's lock, and the sync, which asks it. An item the connector created
 * is never an echo until its create has come back: that echo gives the row its item id, whatever Exchange calls it
 * (Graph's delta may report a new item as an update). In memory only: after a restart an echo is applied as before,
 * which is harmless. Bounded: past `limit` items the oldest are forgotten (their echoes are then applied).
 */
export class OwnWrites {
  readonly #written = new Map<string, { changeKey: string | null; created: boolean }>();

  constructor(readonly limit = 10_000) {}

  /** The connector created the item: its next report from Exchange is applied, whatever its key. */
  created(user: string, itemId: string): void {
    this.#set(keyOf(user, itemId), { changeKey: null, created: true });
  }

  /** The connector changed (changeKey) or deleted (null) the item. */
  wrote(user: string, itemId: string, changeKey: string | null): void {
    const key = keyOf(user, itemId);
    this.#set(key, { changeKey, created: this.#written.get(key)?.created ?? false });
  }

  /**
   * Whether a change from Exchange (changeKey null: a deletion) is the echo of the connector's own last write to the
   * item. Asked of every change of an item the connector wrote, once: the item is forgotten then, since an echo
   * comes once and any other version means someone changed the item since.
   */
  isEcho(user: string, itemId: string, changeKey: string | null): boolean {
    const key = keyOf(user, itemId);
    const written = this.#written.get(key);
    if (!written) return false;
    this.#written.delete(key);
    return !written.created && written.changeKey === changeKey;
  }

  get size(): number {
    return this.#written.size;
  }

  #set(key: string, value: { changeKey: string | null; created: boolean }): void {
    this.#written.delete(key);
    this.#written.set(key, value);
    if (this.#written.size > this.limit) {
      const oldest = this.#written.keys().next().value;
      if (oldest !== undefined) this.#written.delete(oldest);
    }
  }
}

const keyOf = (user: string, itemId: string) => `${user.toLowerCase()}\u0000${itemId}`;
