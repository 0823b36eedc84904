import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningEmulator } from '../../emulator/index.js';
import { ownerOf } from '../../src/cluster/rendezvous.js';
import type { SyncItemsProgress } from '../../src/ports/control.port.js';
import { sendRequest, sendRequestToAny } from '../../src/protocol/client.js';
import type { WireRequest } from '../../src/protocol/messages.js';
import { type ClusterWorld, clusterWorld } from '../support/cluster.js';

const pgUrl = process.env.PG_URL;

const ids = ['fw-a', 'fw-b'];
const users = Array.from({ length: 6 }, (_, i) => `fwd${i}@contoso.test`);
/** Registered later, and a user rendezvous gives to fw-a: it has no holder while only fw-b knows it. */
const late = Array.from({ length: 50 }, (_, i) => `late${i}@contoso.test`).find((u) => ownerOf(u, ids) === 'fw-a');

/**
 * Senders find the owner (issue 17, docs/senders.md "Several instances"): two connectors in this process in a cluster
 * on one schema of the PostgreSQL server and the emulator, their database listeners over real TCP. A sender's request
 * sent to the instance that does not hold the user's lease is handed on to the one that does and answered; a request
 * that was handed on once is never handed on again; a registered user no instance holds gets a clear retryable error.
 */
/** listeners.database.tls: the instances forward over TLS, trusting the certificate they share (self-signed here). */
const fixtures = fileURLToPath(new URL('../exchange/fixtures/', import.meta.url));
const tlsFiles = { certFile: `${fixtures}self-signed.crt`, keyFile: `${fixtures}self-signed.key` };

describe.skipIf(!pgUrl).each([
  { mode: 'plain TCP', tls: false },
  { mode: 'TLS', tls: true },
])('senders reach the lease holder through any instance (emulator, PostgreSQL, $mode)', ({ tls }) => {
  let world: ClusterWorld;
  let admin: pg.Client;
  let emulator: RunningEmulator;
  let schema: string;
  let instances: ClusterWorld['instances'];
  let token: string;

  beforeAll(async () => {
    expect(late).toBeDefined();
    world = await clusterWorld(pgUrl as string, 'forward', { users, mailboxes: [...users, late as string] });
    ({ admin, emulator, schema, instances, token } = world);
    // Users are read at start and on exh_sync_users only, so that fw-a does not learn of `late` by itself.
    for (const id of ids) await world.start(id, tls ? { listeners: { database: { tls: tlsFiles } } } : {});
    await placed();
  });

  afterAll(() => world?.close());

  /** The lease holder of each user, live. */
  async function holders(): Promise<Map<string, string>> {
    const { rows } = await admin.query(
      `select exh_user, exh_instance_id from ${schema}.exh_lease where exh_expires_at > now()`,
    );
    return new Map(rows.map((r) => [r.exh_user, r.exh_instance_id]));
  }

  /** Where each instance's database listener is, as it registered in exh_member. */
  async function listenerOf(id: string): Promise<{ host: string; port: number }> {
    const { rows } = await admin.query(
      `select exh_address, exh_port from ${schema}.exh_member where exh_instance_id = $1`,
      [id],
    );
    expect(rows, `${id} in exh_member`).toHaveLength(1);
    return { host: rows[0].exh_address, port: rows[0].exh_port, ...(await clientTls()) };
  }

  /** The sender's side of TLS: trusts the self-signed certificate, issued for localhost. */
  const clientTls = async () =>
    tls ? { tls: { ca: await readFile(tlsFiles.certFile), servername: 'localhost' } } : {};

  /** Every user held by one of the two, both holding some, and each mailbox live where it is held. */
  async function placed(): Promise<void> {
    await vi.waitFor(
      async () => {
        const held = await holders();
        for (const user of users) expect(ids, user).toContain(held.get(user));
        for (const id of ids) expect([...held.values()]).toContain(id);
        for (const [user, id] of held) {
          const live = instances.get(id)?.records.filter((r) => r.event === 'mailbox.live' && r.user === user);
          expect(live?.length, `${user} live in ${id}`).toBeGreaterThan(0);
        }
      },
      { timeout: 30_000, interval: 200 },
    );
  }

  const send = async (id: string, request: Record<string, unknown>, onProgress?: (p: SyncItemsProgress) => void) =>
    sendRequest(await listenerOf(id), { ...request, token } as WireRequest, {
      timeoutMs: 30_000,
      ...(onProgress ? { onProgress } : {}),
    });

  /** A user fw-a holds, sent to fw-b. */
  async function heldByA(): Promise<string> {
    const held = await holders();
    const user = users.find((u) => held.get(u) === 'fw-a');
    expect(user).toBeDefined();
    return user as string;
  }

  const handedOn = (id: string, by: string) =>
    instances.get(id)?.records.filter((r) => r.forwardedBy === by && typeof r.type === 'string') ?? [];

  it('a request sent to the instance without the lease reaches the holder and its answer comes back', async () => {
    const user = await heldByA();
    const before = handedOn('fw-a', 'fw-b').length;
    const appItemId = `fwd-${randomBytes(3).toString('hex')}`;
    const added = await send('fw-b', {
      type: 'item',
      action: 'add',
      itemType: 'task',
      user,
      fields: { app_item_id: appItemId, subject: 'Handed on' },
    });
    expect(added).toMatchObject({ exitCode: 0, errorMessage: null });
    const itemId = added.outputValue as string;
    expect(emulator.admin.item(user, itemId).properties).toMatchObject({ Subject: 'Handed on' });
    // fw-a answered it, marked as handed on by fw-b; fw-b said where it went.
    expect(handedOn('fw-a', 'fw-b').length).toBe(before + 1);
    expect(
      instances.get('fw-b')?.records.some((r) => r.actor === 'forwarding' && r.user === user && r.holder === 'fw-a'),
    ).toBe(true);

    // A resync with progress: the holder's progress lines are relayed before its reply.
    const progress: SyncItemsProgress[] = [];
    const synced = await send('fw-b', { type: 'syncItems', direction: 0, user, item: 3, progress: true }, (p) =>
      progress.push(p),
    );
    expect(synced).toMatchObject({ exitCode: 0, errorMessage: null });
    expect(JSON.parse(synced.outputValue as string)).toMatchObject({ failed: 0 });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ user, itemType: 'task' });

    // Sent to the holder itself, it is answered there, as by a single instance.
    const changed = await send('fw-a', {
      type: 'item',
      action: 'chg',
      itemType: 'task',
      user,
      fields: { item_id: itemId, subject: 'Answered where it runs' },
    });
    expect(changed).toEqual({ exitCode: 0, outputValue: itemId, errorMessage: null });
    expect(handedOn('fw-a', 'fw-b').length).toBe(before + 2);
  });

  it('a request handed on once is not handed on again: at an instance without the lease it is refused, retryable', async () => {
    const user = await heldByA();
    const before = handedOn('fw-a', 'fw-b').length;
    const reply = await send('fw-b', {
      type: 'item',
      action: 'add',
      itemType: 'task',
      user,
      fields: { app_item_id: `loop-${randomBytes(3).toString('hex')}`, subject: 'Never twice' },
      forwardedBy: 'fw-a',
    });
    expect(reply.exitCode).toBe(522);
    expect(reply.errorMessage).toMatch(
      new RegExp(`Instance fw-a handed on a request for ${user} to instance fw-b, which no longer holds the lease`),
    );
    expect(reply.errorMessage).toMatch(/not forwarded again\. Retry/);
    expect(handedOn('fw-a', 'fw-b').length).toBe(before);
    expect(emulator.admin.items(user, 'tasks').map((i) => i.properties.Subject)).not.toContain('Never twice');
  });

  it('exh_set_up lists every live instance in exh_ip_addresses (written by the coordinator), where a sender turns when exh_ip_address does not answer', async () => {
    const listeners = await Promise.all(ids.map(async (id) => listenerOf(id)));
    const expected = listeners.map((l) => `${l.host}:${l.port}`).join(',');
    const gone = { host: '127.0.0.1', port: await closedPort(), ...(await clientTls()) };
    await vi.waitFor(
      async () => {
        const { rows } = await admin.query(
          `select exh_value from ${schema}.exh_set_up where exh_parameter = 'exh_ip_addresses'`,
        );
        expect(rows).toEqual([{ exh_value: expected }]);
      },
      { timeout: 10_000, interval: 100 },
    );
    // A sender whose exh_ip_address is an instance that is gone: the next one answers (here fw-b, handing on to fw-a).
    const user = await heldByA();
    const reply = await sendRequestToAny(
      [gone, ...[...listeners].reverse()],
      { token, type: 'item', action: 'add', itemType: 'task', user, fields: { app_item_id: 'any-1', subject: 'Any' } },
      { timeoutMs: 30_000 },
    );
    expect(reply).toMatchObject({ exitCode: 0, errorMessage: null });
    expect(emulator.admin.item(user, reply.outputValue as string).properties).toMatchObject({ Subject: 'Any' });
  });

  it('a registered user no instance holds yet gets a clear retryable error, and is reached once its holder takes it', async () => {
    const user = late as string;
    await admin.query(`insert into ${schema}.app_user (exh_user) values ($1)`, [user]);
    // Only fw-b reads the users again (a syncUsers handed on is done where it arrives, not passed on): rendezvous
    // gives the user to fw-a, which does not know it yet.
    expect(await send('fw-b', { type: 'syncUsers', forwardedBy: 'fw-test' })).toMatchObject({ exitCode: 0 });
    await vi.waitFor(
      () => {
        const known = instances
          .get('fw-b')
          ?.runtime.actor.getSnapshot()
          .context.users.map((u) => u.user);
        expect(known).toContain(user);
      },
      { timeout: 10_000, interval: 100 },
    );
    const task = { type: 'item', action: 'add', itemType: 'task', user } as const;
    const refused = await send('fw-b', { ...task, fields: { app_item_id: 'late-1', subject: 'Too early' } });
    expect(refused.exitCode).toBe(522);
    expect(refused.errorMessage).toMatch(new RegExp(`No instance holds the lease of ${user}'s mailbox yet`));
    expect(refused.errorMessage).toMatch(/retry in a few seconds/);
    expect((await holders()).get(user)).toBeUndefined();

    // The fix the message names: exh_sync_users, sent to any instance (here fw-b again), reaches every instance;
    // fw-a takes the user, and the same request through fw-b works.
    expect(await send('fw-b', { type: 'syncUsers' })).toMatchObject({ exitCode: 0 });
    let reply = refused;
    await vi.waitFor(
      async () => {
        reply = await send('fw-b', { ...task, fields: { app_item_id: 'late-1', subject: 'In time' } });
        expect(reply).toMatchObject({ exitCode: 0 });
      },
      { timeout: 30_000, interval: 250 },
    );
    expect((await holders()).get(user)).toBe('fw-a');
    expect(emulator.admin.item(user, reply.outputValue as string).properties).toMatchObject({ Subject: 'In time' });
  });
  it('syncItems for every user sent to one instance: each instance resynchronises its own mailboxes, the counts added up', async () => {
    const held = await holders();
    const onA = users.filter((u) => held.get(u) === 'fw-a');
    expect(onA.length).toBeGreaterThan(0);
    const { rows: before } = await admin.query(`select count(*)::int as n from ${schema}.exh_log`);
    const progress: SyncItemsProgress[] = [];
    const reply = await send('fw-b', { type: 'syncItems', direction: 0, user: null, item: 3, progress: true }, (p) =>
      progress.push(p),
    );
    expect(reply).toMatchObject({ exitCode: 0, errorMessage: null });
    // Before, fw-b counted every mailbox running on fw-a as failed (not connected here) and logged each in exh_log.
    expect(JSON.parse(reply.outputValue as string)).toMatchObject({ failed: 0 });
    const { rows: after } = await admin.query(`select count(*)::int as n from ${schema}.exh_log`);
    expect(after[0].n).toBe(before[0].n);
    // fw-a's part was done by fw-a, asked by fw-b, and its progress relayed (lines are sent at most once a second and
    // at each mailbox's end, so a short resync sends a few).
    expect(instances.get('fw-a')?.records.some((r) => r.forwardedBy === 'fw-b' && r.type === 'syncItems')).toBe(true);
    expect(progress.some((p) => onA.includes(p.user))).toBe(true);
  });

  it('a holder that does not accept the forwarded request: a clear retryable error naming it and its address', async () => {
    const user = await heldByA();
    const dead = await closedPort();
    // The lease taken over by an instance whose listener is gone (its heartbeat old, so rendezvous leaves it out).
    await admin.query(
      `insert into ${schema}.exh_member values ('fw-gone', '127.0.0.1', $1, now() - interval '1 hour', now() - interval '1 hour')`,
      [dead],
    );
    await admin.query(
      `update ${schema}.exh_lease set exh_instance_id = 'fw-gone', exh_fence = exh_fence + 1,
         exh_expires_at = now() + interval '1 hour' where exh_user_key = lower($1)`,
      [user],
    );
    try {
      // Until fw-b's view is read again (2 s) and fw-a's next beat, the request may still reach fw-a (its reply is
      // then fw-a's own): no change is sent, only an attachment asked for.
      const request = { type: 'getAttachment', user, itemId: 'AAMkNone', attachmentId: 'AAMkNone' };
      let reply = await send('fw-b', request);
      await vi.waitFor(
        async () => {
          reply = await send('fw-b', request);
          expect(reply.exitCode).toBe(521);
        },
        { timeout: 15_000, interval: 250 },
      );
      expect(reply.errorMessage).toContain(
        `Instance fw-gone, which holds the lease of ${user}'s mailbox, did not answer the request handed on to it at 127.0.0.1:${dead}`,
      );
      expect(reply.errorMessage).toMatch(/its lease ends within cluster\.leaseSeconds .* retry then/);
    } finally {
      await admin.query(
        `update ${schema}.exh_lease set exh_expires_at = now() - interval '1 second' where exh_user_key = lower($1)`,
        [user],
      );
      await admin.query(`delete from ${schema}.exh_member where exh_instance_id = 'fw-gone'`);
    }
  });
});

/** A port nothing listens on (taken and let go). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
