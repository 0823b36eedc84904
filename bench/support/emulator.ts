/**
 * The emulator as a benchmark runs it: in a process of its own (./emulator-process.ts), so that serving Exchange
 * does not share an event loop with the connector or the reader being measured.
 *
 *   const emulator = await startEmulatorProcess({ mailboxes: ['a@contoso.test'], graph: true, maxHangingConnections: 10 });
 *   await emulator.seed({ mailboxes, mix: mixOf(1000), start: appointmentsFrom() });  // realistic items (./items.ts)
 *   await emulator.admin('createItem', user, { kind: 'CalendarItem', Subject: 'x' });  // any EmulatorAdmin method
 *   const log = await emulator.admin<LoggedRequest[]>('requests', { operation: 'GetItem' });
 *   emulator.rssMiB(); await emulator.stop();
 *
 * `exchange` is the connector's exchange.* for this emulator (EWS, or Graph with its token endpoint standing in for
 * Entra, as docs/exchange-online.md's emulator section shows).
 */
import type { EmulatorOptions } from '../../emulator/index.js';
import type { EmulatorCall, SeedRequest } from './emulator-process.js';
import { rssMiB, type SpawnedTs, spawnTs, stopChild } from './process.js';

export interface EmulatorAddresses {
  url: string;
  graphUrl: string;
  adminUrl: string;
  autodiscoverUrl: string;
  serviceAccount: string;
  password: string;
  graphApp: { tenant: string; clientId: string; clientSecret: string } | null;
}

export type BenchEmulatorOptions = Omit<EmulatorOptions, 'logger' | 'clock' | 'now'>;

export interface EmulatorProcess extends EmulatorAddresses {
  pid: number;
  /** Adds the mailboxes that are missing and seeds each with `mix`; resolves with the number of items made. */
  seed(request: SeedRequest): Promise<number>;
  /** Calls a method of the emulator's EmulatorAdmin in its process; the result comes back as JSON. */
  admin<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  /** exchange.* of a connector configuration for this emulator and backend. */
  exchange(backend: 'ews' | 'graph', extra?: Record<string, unknown>): Record<string, unknown>;
  rssMiB(): number | undefined;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(options: BenchEmulatorOptions = {}): Promise<EmulatorProcess> {
  const spawned: SpawnedTs = spawnTs('bench/support/emulator-process.ts', [JSON.stringify(options)], { ipc: true });
  const { child } = spawned;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const addresses = await new Promise<EmulatorAddresses>((resolve, reject) => {
    child.on('message', (message: { ready?: EmulatorAddresses; id?: number; result?: unknown; error?: string }) => {
      if (message.ready) return resolve(message.ready);
      const waiter = message.id === undefined ? undefined : pending.get(message.id);
      if (!waiter || message.id === undefined) return;
      pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`emulator: ${message.error}`));
      else waiter.resolve(message.result);
    });
    void spawned.exited.then(({ code }) => {
      const error = new Error(`The emulator process exited (code ${code}).`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
    });
  });
  const call = (request: EmulatorCall) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...request, id });
    });
  return {
    ...addresses,
    pid: child.pid ?? 0,
    seed: (request) => call({ op: 'seed', seed: request }) as Promise<number>,
    admin: <T>(method: string, ...args: unknown[]) => call({ op: 'admin', method, args }) as Promise<T>,
    exchange(backend, extra = {}) {
      const app = addresses.graphApp;
      const { graph: extraGraph, ...rest } = extra as { graph?: Record<string, unknown> };
      return {
        backend,
        staticEwsUrl: addresses.url,
        impersonationUser: addresses.serviceAccount,
        impersonationPassword: addresses.password,
        ...(backend === 'graph' && app
          ? {
              graph: {
                baseUrl: addresses.graphUrl,
                // The emulator's token endpoint stands in for Entra (msal reaches a plain-http authority through it).
                authority: `${new URL(addresses.graphUrl).origin}/graph-login`,
                tenant: app.tenant,
                clientId: app.clientId,
                clientSecret: app.clientSecret,
                ...extraGraph,
              },
            }
          : {}),
        ...rest,
      };
    },
    rssMiB: () => rssMiB(child.pid ?? 0),
    async stop() {
      await stopChild(spawned, 5_000);
    },
  };
}
