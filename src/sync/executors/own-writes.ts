/**
 * What the connector itself last wrote to each item in Exchange, until the sync meets the item again (the echo;
 * src/sync/decisions/echo.ts decides what is skipped): an update's change key, or a deletion (null). Shared by the
 * outbox, which tells it each write under the sync's lock, and the sync, which asks it. An item the connector created
 * is never an echo until its create has come back: that echo gives the row its item id, whatever Exchange calls it
 * (Graph's delta may report a new item as an update). In memory only: after a restart an echo is applied as before,
 * which is harmless. Bounded: past `limit` items the oldest are forgotten (their echoes are then applied).
 */
export class OwnWrites {
  readonly #written = new Map<string, Written>();

  constructor(readonly limit = 10_000) {}

  /** The connector created the item: its next report from Exchange is applied, whatever its key. */
  created(user: string, itemId: string): void {
    this.#set(keyOf(user, itemId), { changeKey: null, created: true, unseen: false });
  }

  /** The connector changed (changeKey) or deleted (null) the item. */
  wrote(user: string, itemId: string, changeKey: string | null): void {
    const key = keyOf(user, itemId);
    const before = this.#written.get(key);
    this.#set(key, { changeKey, created: before?.created ?? false, unseen: before?.unseen ?? false });
  }

  /**
   * The connector wrote the item over (or found it at) a version that holds changes the row has not seen yet (a
   * person's: src/sync/decisions/echo.ts, updateEchoOwn). Until the sync meets the item, no later write of the
   * connector is an echo either: the sync reports only the item's latest version, which holds those changes too
   * (test/faults/convergence.test.ts found it with CONVERGENCE_SEED=1291460014: a conflict decided for the
   * application, then the application's next change written on the version the first write left; skipping that
   * echo lost the person's change the first write had kept).
   */
  wroteOver(user: string, itemId: string): void {
    const key = keyOf(user, itemId);
    this.#set(key, { changeKey: null, created: this.#written.get(key)?.created ?? false, unseen: true });
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
    return !written.created && !written.unseen && written.changeKey === changeKey;
  }

  get size(): number {
    return this.#written.size;
  }

  #set(key: string, value: Written): void {
    this.#written.delete(key);
    this.#written.set(key, value);
    if (this.#written.size > this.limit) {
      const oldest = this.#written.keys().next().value;
      if (oldest !== undefined) this.#written.delete(oldest);
    }
  }
}

interface Written {
  changeKey: string | null;
  created: boolean;
  /** Written over changes the row has not seen (wroteOver): the next report is applied whatever its key. */
  unseen: boolean;
}

const keyOf = (user: string, itemId: string) => `${user.toLowerCase()}\u0000${itemId}`;
