/**
 * The emulator in a process of its own, for the benchmarks (started by ./emulator.ts, not by hand):
 *
 *   node --import tsx bench/support/emulator-process.ts '<EmulatorOptions as JSON>'
 *
 * It starts the emulator (port 0 unless told), sends its addresses to the parent over the IPC channel, and then
 * answers the parent's requests there: `seed` (realistic items per mailbox, ./items.ts) and `admin` (any method of
 * the EmulatorAdmin, emulator/admin/api.ts: createItem, updateItem, requests, updateSettings ...). The same admin
 * API is served as JSON over HTTP at adminUrl. SIGTERM closes it.
 */
import { startEmulator } from '../../emulator/index.js';
import { type SeedMix, templates } from './items.js';

export interface SeedRequest {
  mailboxes: string[];
  mix: SeedMix;
  /** Appointments start here (ms since the epoch), an hour apart. */
  start: number;
  /** Bare items (a numbered subject) instead of realistic ones. */
  bare?: boolean;
}

/** What the parent asks; each request carries an id its answer repeats. */
export type EmulatorCall = { op: 'seed'; seed: SeedRequest } | { op: 'admin'; method: string; args: unknown[] };
export type EmulatorRequest = EmulatorCall & { id: number };

const send = (message: unknown) => process.send?.(message);
const options = JSON.parse(process.argv[2] ?? '{}');
const emulator = await startEmulator({ port: 0, ...options });
const admin = emulator.admin as unknown as Record<string, (...args: unknown[]) => unknown>;

function seed(request: SeedRequest): number {
  let count = 0;
  const known = new Set(emulator.admin.mailboxes().map((m) => m.address));
  for (const address of request.mailboxes) {
    if (!known.has(address.toLowerCase())) emulator.admin.addMailbox(address);
    for (const [kind, n] of Object.entries(request.mix) as [keyof typeof templates, number][]) {
      if (!n) continue;
      emulator.admin.seed(address, kind, n, request.start, request.bare ? undefined : templates[kind]);
      count += n;
    }
  }
  return count;
}

process.on('message', async (request: EmulatorRequest) => {
  try {
    const result =
      request.op === 'seed' ? seed(request.seed) : await admin[request.method]?.apply(emulator.admin, request.args);
    if (request.op === 'admin' && typeof admin[request.method] !== 'function')
      throw new Error(`The emulator's admin API has no ${request.method}.`);
    send({ id: request.id, result: result ?? null });
  } catch (error) {
    send({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
const close = () => void emulator.close().then(() => process.exit(0));
process.on('SIGTERM', close);
process.on('SIGINT', close);
// The parent gone (a crashed scenario): the emulator goes too, rather than keep its port.
process.on('disconnect', close);
send({
  ready: {
    url: emulator.url,
    graphUrl: emulator.graphUrl,
    adminUrl: emulator.adminUrl,
    autodiscoverUrl: emulator.autodiscoverUrl,
    serviceAccount: emulator.serviceAccount,
    password: emulator.password,
    graphApp: emulator.graphUrl ? emulator.admin.graphApp() : null,
  },
});
