/**
 * Reaching a connector's HTTP listener from a benchmark: a free port to give it (listeners.http.port), and its
 * /readyz, which says whether the database is ready and how many mailboxes are live (src/http/routes/health.ts).
 */
import { type AddressInfo, createServer } from 'node:net';

/** A port free on 127.0.0.1 right now (the listener that gets it may race another process: rare, and it fails loudly). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Readiness {
  /** 200: the database is ready. */
  status: number;
  total: number;
  live: number;
}

/** GET /readyz; undefined while nothing answers on the port. */
export async function readiness(port: number): Promise<Readiness | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as { mailboxes?: { total?: number; live?: number } };
    return { status: response.status, total: body.mailboxes?.total ?? 0, live: body.mailboxes?.live ?? 0 };
  } catch {
    return undefined;
  }
}
