import { TokenSeal } from './ids.js';
import { Mailbox, type MailboxSnapshot } from './mailbox.js';
import type { MailboxEvent } from './model.js';

export interface StoreSnapshot {
  format: 'exh-emulator-mailboxes';
  version: 1;
  /** The secret behind sync states and watermarks (absent in files written before it existed). */
  secret?: string;
  mailboxes: MailboxSnapshot[];
}

/** Display name from an address: alice@contoso.test → Alice. */
export function displayNameOf(address: string): string {
  const local = address.split('@')[0] ?? address;
  return local
    .split(/[._-]+/)
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join(' ');
}

/** All mailboxes, by SMTP address (case-insensitive, as Exchange resolves them). */
export class Store {
  private readonly mailboxes = new Map<string, Mailbox>();
  private readonly listeners = new Set<(mailbox: Mailbox, event: MailboxEvent) => void>();
  /** Seals sync states and watermarks; its secret is saved with the mailboxes. */
  readonly seal = new TokenSeal();

  constructor(private readonly now: () => number) {}

  get(address: string): Mailbox | undefined {
    return this.mailboxes.get(address.trim().toLowerCase());
  }

  list(): Mailbox[] {
    return [...this.mailboxes.values()];
  }

  get size(): number {
    return this.mailboxes.size;
  }

  add(address: string, displayName = displayNameOf(address)): Mailbox {
    const key = address.trim().toLowerCase();
    const existing = this.mailboxes.get(key);
    if (existing) return existing;
    const mailbox = new Mailbox(key, displayName, this.now, this.seal);
    this.wire(mailbox);
    this.mailboxes.set(key, mailbox);
    return mailbox;
  }

  remove(address: string): boolean {
    return this.mailboxes.delete(address.trim().toLowerCase());
  }

  onEvent(listener: (mailbox: Mailbox, event: MailboxEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private wire(mailbox: Mailbox): void {
    mailbox.onEvent = (box, event) => {
      for (const listener of this.listeners) listener(box, event);
    };
  }

  snapshot(): StoreSnapshot {
    return {
      format: 'exh-emulator-mailboxes',
      version: 1,
      secret: this.seal.secret,
      mailboxes: this.list().map((m) => m.snapshot()),
    };
  }

  /** Replaces every mailbox with the snapshot's. */
  restore(snapshot: StoreSnapshot): void {
    if (snapshot.format !== 'exh-emulator-mailboxes' || snapshot.version !== 1 || !Array.isArray(snapshot.mailboxes)) {
      throw new Error('not an exh emulator data file (format exh-emulator-mailboxes, version 1)');
    }
    if (snapshot.secret !== undefined) this.seal.secret = snapshot.secret;
    this.mailboxes.clear();
    for (const data of snapshot.mailboxes) {
      const mailbox = Mailbox.restore(data, this.now, this.seal);
      this.wire(mailbox);
      this.mailboxes.set(mailbox.address, mailbox);
    }
  }
}
