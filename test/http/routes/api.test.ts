import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { errors } from '../../../src/errors.js';
import type { ClusterStatus } from '../../../src/http/cluster.js';
import { registerApiRoutes } from '../../../src/http/routes/api.js';
import type { HttpDeps } from '../../../src/http/server.js';
import type { Metrics, RecentError } from '../../../src/metrics/metrics.js';
import type { InspectionHub, Transition } from '../../../src/statecharts/inspection.js';
import { httpDeps, mailboxStatus, statusWith } from '../deps.js';

const alice = 'Alice@Contoso.test';

/** The read-only API (src/http/routes/api.ts) through inject; its event streams: test/http/sse.test.ts. */
describe('API routes', () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await close?.();
  });

  const asked: Array<{ what: string; user: string | undefined }> = [];
  const transitions = (user: string | undefined) =>
    Array.from(
      { length: 60 },
      (_, n): Transition => ({
        at: `2026-03-01T08:00:${String(n).padStart(2, '0')}.000Z`,
        actor: `mailbox:${user}`,
        machine: 'mailbox',
        ...(user ? { user } : {}),
        event: `event.${n}`,
        from: [],
        to: ['connected'],
      }),
    );
  const errorsOf = (user: string | undefined) =>
    Array.from(
      { length: 30 },
      (_, n): RecentError => ({
        at: '2026-03-01T08:00:00.000Z',
        category: 'W',
        code: 'EXH_EXCHANGE_THROTTLED',
        message: `busy ${n}`,
        ...(user ? { user } : {}),
      }),
    );

  async function app() {
    const status = statusWith({ mailboxes: [mailboxStatus(alice, 'live'), mailboxStatus('bob@contoso.test', 'live')] });
    const { deps } = httpDeps({
      status: () => status,
      charts: [
        {
          id: 'mailbox',
          root: { path: '', key: '', type: 'compound', invokes: [], transitions: [], states: [] },
          children: [],
        },
      ],
      inspection: {
        recent: (filter: { user?: string }) => {
          asked.push({ what: 'transitions', user: filter.user });
          return transitions(filter.user);
        },
      } as unknown as InspectionHub,
      metrics: {
        recentErrors: (filter: { user?: string }) => {
          asked.push({ what: 'errors', user: filter.user });
          return errorsOf(filter.user);
        },
      } as unknown as Metrics,
    });
    const built = Fastify();
    registerApiRoutes(built, deps, { all: new Set(), events: new Set() });
    await built.ready();
    close = () => built.close();
    return { app: built, status, charts: deps.charts };
  }

  it('gives the status and the statecharts as they are', async () => {
    const { app: built, status, charts } = await app();
    expect((await built.inject({ method: 'GET', url: '/api/status' })).json()).toEqual(status);
    expect((await built.inject({ method: 'GET', url: '/api/machines' })).json()).toEqual(charts);
  });

  it("gives a mailbox found whatever the address's case, with its latest 50 transitions and 20 errors", async () => {
    asked.length = 0;
    const { app: built } = await app();
    const response = await built.inject({ method: 'GET', url: '/api/mailboxes/alice%40CONTOSO.TEST' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ user: alice, state: 'live' });
    // Asked under the registered spelling, which is how the hub and the metrics keep them.
    expect(asked).toEqual([
      { what: 'transitions', user: alice },
      { what: 'errors', user: alice },
    ]);
    expect(body.transitions).toHaveLength(50);
    expect(body.transitions.at(-1).event).toBe('event.59');
    expect(body.transitions[0].event).toBe('event.10');
    expect(body.recentErrors).toHaveLength(20);
    expect(body.recentErrors.at(-1).message).toBe('busy 29');
  });

  it('answers an unknown user with 404, saying where the list is', async () => {
    const { app: built } = await app();
    const response = await built.inject({ method: 'GET', url: '/api/mailboxes/nobody@contoso.test' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error).toEqual({
      code: 'EXH_HTTP_NOT_FOUND',
      message: expect.stringContaining(
        'nobody@contoso.test is not a registered user (exh_get_users does not return it); the list is at /api/status',
      ),
    });
  });
});

/** GET /api/cluster: one instance says so; several tell what the database holds (test/http/cluster.test.ts). */
describe('API route /api/cluster', () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await close?.();
  });

  async function ask(cluster?: HttpDeps['cluster']) {
    const { deps } = httpDeps(cluster ? { cluster } : {});
    const built = Fastify();
    registerApiRoutes(built, deps, { all: new Set(), events: new Set() });
    await built.ready();
    close = () => built.close();
    return built.inject({ method: 'GET', url: '/api/cluster' });
  }

  it('a single instance answers 200 that it is not in a cluster', async () => {
    const response = await ask();
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ clustered: false, message: expect.stringMatching(/^single instance: /) });
  });

  it('a member answers its view as read', async () => {
    const view: ClusterStatus = {
      clustered: true,
      instanceId: 'exh-a',
      coordinator: 'exh-a',
      leaseSeconds: 20,
      heartbeatSeconds: 5,
      members: [],
      leases: [],
      unowned: ['al@x.test'],
    };
    const response = await ask(async () => view);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(view);
  });

  it("answers 503 with the database's error when the view cannot be read", async () => {
    const response = await ask(async () => {
      throw errors.databaseConnectionLost('postgres://db:5432/app', new Error('ECONNRESET'));
    });
    expect(response.statusCode).toBe(503);
    expect(response.json().error).toEqual({
      code: 'EXH_DB_CONNECTION_LOST',
      message: expect.stringContaining('Lost the connection to the database at postgres://db:5432/app'),
    });
  });
});
