/**
 * Changes made in the emulator at a steady rate, as people would make them in Outlook: creates and updates spread
 * over mailboxes and item types, made through the emulator's admin API over HTTP (/emulator/admin, the service
 * account's Basic authentication), each carrying a marker with the time it was asked (./arrivals.ts).
 *
 *   const maker = new ChangeMaker(emulator, ['calendar', 'contact', 'email', 'task']);  // adminUrl, serviceAccount, password
 *   maker.addItems(user, 'calendar', ids);                                 // items that may be updated
 *   const run = await maker.run({ rate: 200, seconds: 10, mailboxes });   // seqs run.first..run.last
 *
 * An item is changed at most once in a run (an update that overtook an earlier one of the same item would hide it);
 * items created in a run can be updated in the next.
 */
import { marker } from './arrivals.js';
import { type SeedKind, templates } from './items.js';

export type LiveType = 'calendar' | 'contact' | 'email' | 'task';

const kindOf: Record<LiveType, SeedKind> = {
  calendar: 'CalendarItem',
  contact: 'Contact',
  email: 'Message',
  task: 'Task',
};

export interface AdminEndpoint {
  adminUrl: string;
  serviceAccount: string;
  password: string;
}

export interface Change {
  seq: number;
  sentMs: number;
  user: string;
  type: LiveType;
  action: 'create' | 'update';
}

export interface RunResult {
  first: number;
  last: number;
  /** The changes the emulator made (those it refused are only counted in `failed`). */
  changes: Change[];
  /** Changes made per second, as the emulator answered them (below `rate` when it could not keep up). */
  achievedRate: number;
  failed: number;
}

/** A small deterministic generator (mulberry32): runs spread their changes the same way each time. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The text field that carries the marker, set to a value that still reads like the item's own. */
function markedFields(type: LiveType, mark: string): Record<string, string> {
  if (type === 'contact') return { GivenName: `Annemarie ${mark}` };
  const subject = (templates[kindOf[type]] as { Subject: string }).Subject;
  return { Subject: `${subject} ${mark}` };
}

export class ChangeMaker {
  readonly #authorization: string;
  readonly #random = random(15);
  #seq = 0;
  /** Items that may be updated, by `user type`. */
  readonly #pool = new Map<string, string[]>();

  constructor(
    private readonly emulator: AdminEndpoint,
    private readonly types: LiveType[],
    /** Most admin requests in flight; beyond it the schedule waits (and achievedRate shows it). */
    private readonly maxInFlight = 64,
  ) {
    this.#authorization = `Basic ${Buffer.from(`${emulator.serviceAccount}:${emulator.password}`).toString('base64')}`;
  }

  /** Items (ids the admin API takes: EWS or Graph) that may be updated. */
  addItems(user: string, type: LiveType, ids: string[]): void {
    const key = `${user} ${type}`;
    this.#pool.set(key, [...(this.#pool.get(key) ?? []), ...ids]);
  }

  async #admin(method: string, path: string, body: unknown): Promise<{ id?: string }> {
    const response = await fetch(`${this.emulator.adminUrl}${path}`, {
      method,
      headers: { authorization: this.#authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as { id?: string; message?: string };
    if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status} ${json.message ?? ''}`);
    return json;
  }

  async #make(change: Change, id: string | undefined, created: [string, LiveType, string][]): Promise<void> {
    const fields = markedFields(change.type, marker(change.seq, change.sentMs));
    const mailbox = `/mailboxes/${encodeURIComponent(change.user)}/items`;
    if (id) {
      await this.#admin('PATCH', `${mailbox}/${encodeURIComponent(id)}`, fields);
      created.push([change.user, change.type, id]);
      return;
    }
    const kind = kindOf[change.type];
    const extra: Record<string, unknown> = {};
    if (change.type === 'email') extra.folder = 'inbox';
    if (change.type === 'calendar') {
      // Within the coming month, whole hours: inside Graph's calendar window as well as EWS's whole calendar.
      const start = Math.floor(Date.now() / 3_600_000 + 1 + this.#random() * 720) * 3_600_000;
      extra.Start = new Date(start).toISOString();
      extra.End = new Date(start + 1_800_000).toISOString();
    }
    const item = await this.#admin('POST', mailbox, { kind, ...templates[kind], ...extra, ...fields });
    if (item.id) created.push([change.user, change.type, item.id]);
  }

  /** Makes `rate` changes a second for `seconds` over `mailboxes`; `onMade` hears each as the emulator answered it. */
  async run(options: {
    rate: number;
    seconds: number;
    mailboxes: string[];
    onMade?: (change: Change) => void;
  }): Promise<RunResult> {
    const total = Math.round(options.rate * options.seconds);
    const first = this.#seq + 1;
    const changes: Change[] = [];
    const touched: [string, LiveType, string][] = [];
    const inFlight = new Set<Promise<void>>();
    let failed = 0;
    let lastAnswer = 0;
    const started = performance.now();
    for (let k = 0; k < total; k++) {
      const due = started + (k * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      while (inFlight.size >= this.maxInFlight) await Promise.race(inFlight);
      const user = options.mailboxes[Math.floor(this.#random() * options.mailboxes.length)] as string;
      const type = this.types[Math.floor(this.#random() * this.types.length)] as LiveType;
      const key = `${user} ${type}`;
      const candidates = this.#pool.get(key) ?? [];
      const update = candidates.length > 0 && this.#random() < 0.5;
      const id = update ? candidates.splice(Math.floor(this.#random() * candidates.length), 1)[0] : undefined;
      const change: Change = {
        seq: ++this.#seq,
        sentMs: Date.now(),
        user,
        type,
        action: id ? 'update' : 'create',
      };
      changes.push(change);
      const made = this.#make(change, id, touched).then(
        () => {
          lastAnswer = performance.now();
          options.onMade?.(change);
        },
        (error: unknown) => {
          failed++;
          if (failed <= 3)
            process.stderr.write(`change ${change.seq} (${change.action} ${type} of ${user}) failed: ${error}\n`);
          changes.splice(changes.indexOf(change), 1);
        },
      );
      inFlight.add(made);
      void made.finally(() => inFlight.delete(made));
    }
    await Promise.all(inFlight);
    // What this run created or updated may be updated in the next one.
    for (const [user, type, id] of touched) this.addItems(user, type, [id]);
    const elapsed = (lastAnswer - started) / 1000;
    return { first, last: this.#seq, changes, achievedRate: elapsed > 0 ? (total - failed) / elapsed : 0, failed };
  }
}
