/**
 * Receives a record and its JSON line (without the trailing newline). The record object is shared by every listener
 * of that write, so listeners must treat it as read-only.
 */
export type LogListener = (record: Record<string, unknown>, line: string) => void;

/**
 * A pino destination that fans every record out to live listeners (the log feed's clients).
 *
 * It sits on the logger's hot path: with nobody listening, a write costs one length check and parses nothing.
 * Whatever a listener does, the logger and the other listeners carry on.
 */
export class LogHub {
  /**
   * Replaced, never mutated, on (un)subscribe: a write iterates a stable snapshot without copying it, and a listener
   * that unsubscribes during a write does not make another one miss the record.
   */
  #listeners: readonly LogListener[] = [];

  get subscriberCount(): number {
    return this.#listeners.length;
  }

  /** Returns the unsubscribe function; calling it again does nothing. The same function may subscribe twice. */
  subscribe(listener: LogListener): () => void {
    // A wrapper gives every subscription its own identity, so unsubscribing removes exactly this one.
    const entry: LogListener = (record, line) => listener(record, line);
    this.#listeners = [...this.#listeners, entry];
    return () => {
      this.#listeners = this.#listeners.filter((candidate) => candidate !== entry);
    };
  }

  write(line: string): void {
    const listeners = this.#listeners;
    if (listeners.length === 0) return;
    const text = line.endsWith('\n') ? line.slice(0, line.endsWith('\r\n') ? -2 : -1) : line;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      return;
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return;
    for (const listener of listeners) {
      try {
        listener(record as Record<string, unknown>, text);
      } catch {
        // Nowhere to report it: logging the failure would re-enter this very write.
      }
    }
  }
}
