import { z } from 'zod';

/**
 * Faults switched on from tests (in-process) or from the admin endpoint, each for the next N matching calls, for a
 * share of them, or until switched off; optionally only for some operations or one mailbox.
 *
 * - serverBusy: SOAP fault ErrorServerBusy with BackOffMilliseconds (Exchange's throttling answer)
 * - httpStatus: a bare HTTP error (500 or 503) instead of a SOAP answer
 * - latency: answers delayed by `ms`
 * - stallStreaming: streaming connections go silent (no events, no keep-alives, no close)
 * - invalidSyncState: SyncFolderItems with a sync state answers ErrorInvalidSyncStateData
 * - invalidWatermark: Subscribe with a watermark and GetEvents answer ErrorInvalidWatermark
 * - mailboxMove: SOAP fault ErrorMailboxMoveInProgress for the mailbox
 *
 * Microsoft Graph (emulator/graph/, operations named graph.*, e.g. graph.messages.delta; `latency` applies too):
 * - graphThrottled: 429 ApplicationThrottled with Retry-After (seconds)
 * - graphUnavailable: 503 ServiceUnavailable, with Retry-After when given
 * - graphDeltaGone: a delta request with a token answers 410 Gone (resyncRequired) with a fresh initial link in Location
 * - graphSyncStateNotFound: the same with code SyncStateNotFound
 * - graphDeltaReplay: a delta request with a token serves its round again from the start (a replayed page)
 */

const scope = {
  id: z.string().optional(),
  /** Applies to the next N matching calls, then switches itself off. */
  calls: z.number().int().positive().optional(),
  /** Applies to this share of matching calls (0..1). */
  share: z.number().min(0).max(1).optional(),
  operations: z.array(z.string()).optional(),
  mailbox: z.string().optional(),
};

export const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('serverBusy'), backOffMs: z.number().int().nonnegative().default(30_000), ...scope }),
  z.object({ kind: z.literal('httpStatus'), status: z.union([z.literal(500), z.literal(503)]), ...scope }),
  z.object({ kind: z.literal('latency'), ms: z.number().int().nonnegative().max(600_000), ...scope }),
  z.object({ kind: z.literal('stallStreaming'), ...scope }),
  z.object({ kind: z.literal('invalidSyncState'), ...scope }),
  z.object({ kind: z.literal('invalidWatermark'), ...scope }),
  z.object({ kind: z.literal('mailboxMove'), ...scope }),
  z.object({
    kind: z.literal('graphThrottled'),
    retryAfterSeconds: z.number().int().nonnegative().default(2),
    ...scope,
  }),
  z.object({
    kind: z.literal('graphUnavailable'),
    retryAfterSeconds: z.number().int().nonnegative().optional(),
    ...scope,
  }),
  z.object({ kind: z.literal('graphDeltaGone'), ...scope }),
  z.object({ kind: z.literal('graphSyncStateNotFound'), ...scope }),
  z.object({ kind: z.literal('graphDeltaReplay'), ...scope }),
]);

export type FaultInput = z.input<typeof faultSchema>;
export type Fault = z.output<typeof faultSchema> & { id: string };
export type FaultKind = Fault['kind'];

export interface FaultTarget {
  operation: string;
  mailbox?: { address: string } | undefined;
}

/** A small deterministic generator, so that "a share of calls" is repeatable in tests. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Faults {
  private rules: Fault[] = [];
  private counter = 0;
  private random: () => number;

  constructor(seed = 1) {
    this.random = mulberry32(seed);
  }

  /** Switches a fault on; returns it with its id (to switch it off again). */
  add(input: FaultInput): Fault {
    const parsed = faultSchema.parse(input);
    const fault: Fault = { ...parsed, id: parsed.id ?? `fault-${++this.counter}` };
    this.rules = this.rules.filter((r) => r.id !== fault.id);
    this.rules.push(fault);
    return fault;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length < before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): Fault[] {
    return this.rules.map((r) => ({ ...r }));
  }

  private matches(rule: Fault, target: FaultTarget): boolean {
    if (rule.operations && !rule.operations.includes(target.operation)) return false;
    if (rule.mailbox && rule.mailbox.toLowerCase() !== target.mailbox?.address) return false;
    return true;
  }

  /** A fault of this kind that applies, without using up one of its calls (for state such as a stall). */
  active<K extends FaultKind>(kind: K, target: FaultTarget): Extract<Fault, { kind: K }> | undefined {
    return this.rules.find((r) => r.kind === kind && this.matches(r, target)) as
      | Extract<Fault, { kind: K }>
      | undefined;
  }

  /** The fault of this kind that applies to this call, counting the call against its `calls` and `share`. */
  take<K extends FaultKind>(kind: K, target: FaultTarget): Extract<Fault, { kind: K }> | undefined {
    for (const rule of this.rules) {
      if (rule.kind !== kind || !this.matches(rule, target)) continue;
      if (rule.share !== undefined && this.random() >= rule.share) continue;
      if (rule.calls !== undefined) {
        rule.calls--;
        if (rule.calls <= 0) this.remove(rule.id);
      }
      return rule as Extract<Fault, { kind: K }>;
    }
    return undefined;
  }
}
