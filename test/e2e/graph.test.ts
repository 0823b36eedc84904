import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultGraphApp, graphLoginPrefix } from '../../emulator/graph/token.js';
import type { RunningEmulator } from '../../emulator/index.js';
import type { LoggedRequest } from '../../emulator/request-log.js';
import { alice, bob, carol, connectorWorld } from '../support/connector.js';

const pgUrl = process.env.PG_URL;

/**
 * Microsoft Graph end to end (issue 14, "Tests, end to end"), beyond the scenarios both backends share
 * (test/e2e/sync.test.ts, write.test.ts): the real runtime and Graph adapter against the emulator's Graph
 * (docs/emulator.md, "Microsoft Graph") and the example application on PostgreSQL. What a person does goes through the
 * emulator's admin API or, for a move, through Graph as Outlook would make it; what reached Graph is read from the
 * emulator's request log (docs/emulator.md, "Admin API": `requests`).
 */
describe.skipIf(!pgUrl)('Microsoft Graph end to end (emulator, PostgreSQL, example application)', () => {
  let world: Awaited<ReturnType<typeof connectorWorld>>;
  let admin: pg.Client;
  let emulator: RunningEmulator;
  let schema: string;

  beforeAll(async () => {
    world = await connectorWorld(pgUrl as string, 'graph_e2e', { backend: 'graph' });
    ({ admin, emulator, schema } = world);
  });
  afterEach(async () => {
    emulator.admin.faults.clear();
    await world.stopConnector();
  });
  afterAll(() => world?.close());

  const rows = (table: string, user: string) => world.rows(table, user);
  const eventually = (check: () => Promise<void>) => world.eventually(check);
  const start = async (notifications: 'streaming' | 'push' = 'streaming') => {
    await world.startConnector(notifications);
    await world.live([alice, bob, carol]);
  };

  /** A request to the emulator's Graph as the app, with immutable ids (as a person's Outlook would act). */
  const graph = async (method: string, path: string, body?: unknown) => {
    const origin = new URL(emulator.graphUrl).origin;
    const login = await fetch(`${origin}${graphLoginPrefix}/${defaultGraphApp.tenant}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: defaultGraphApp.clientId,
        client_secret: defaultGraphApp.clientSecret as string,
        scope: 'https://graph.microsoft.com/.default',
      }),
    });
    const { access_token: token } = (await login.json()) as { access_token: string };
    const response = await fetch(`${emulator.graphUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        prefer: 'IdType="ImmutableId"',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  /** The Graph requests of a mailbox the emulator answered since `since` (its clock), oldest first. */
  const requestsOf = (user: string, since: number) =>
    emulator.admin.requests({ mailbox: user, since }).filter((r) => r.operation.startsWith('graph.'));

  /**
   * Waits until the connector has read every folder of `user` twice since `since` (each delta round ends on a page the
   * emulator answered): what a change could still do to the rows, it has done.
   */
  const settled = async (user: string, since: number) => {
    const deltas = [
      'graph.messages.delta',
      'graph.calendarView.delta',
      'graph.contacts.delta',
      'graph.todo.tasks.delta',
    ];
    await eventually(async () => {
      const read = requestsOf(user, since).filter((r) => r.status === 200);
      for (const operation of deltas) {
        const wanted = operation === 'graph.messages.delta' ? 4 : 2;
        expect(read.filter((r) => r.operation === operation).length, operation).toBeGreaterThanOrEqual(wanted);
      }
    });
  };

  describe('a moved item keeps its row', () => {
    it('an e-mail moved by a person from the Inbox to Sent Items keeps its row; moved to Junk Email it loses it', async () => {
      await start();
      const subject = `Quarterly figures ${randomBytes(3).toString('hex')}`;
      const made = emulator.admin.createItem(bob, {
        kind: 'Message',
        folder: 'inbox',
        Subject: subject,
        Body: 'Attached.',
      });
      const immutableId = made?.graphId as string;
      let before: Record<string, unknown> | undefined;
      await eventually(async () => {
        const found = (await rows('email_item', bob)).filter((r) => r.exh_subject === subject);
        expect(found).toEqual([expect.objectContaining({ exh_item_id: immutableId, exh_folder: 'Inbox' })]);
        before = found[0];
      });

      // Outlook moves it: the same immutable id in Sent Items (docs/emulator.md: a move keeps the immutable id).
      const movedAt = Date.now();
      const moved = await graph('POST', `/users/${bob}/messages/${encodeURIComponent(immutableId)}/move`, {
        destinationId: 'sentitems',
      });
      expect(moved).toMatchObject({ status: 201, body: { id: immutableId } });
      await eventually(async () => {
        expect((await rows('email_item', bob)).filter((r) => r.exh_subject === subject)).toEqual([
          expect.objectContaining({
            id: before?.id,
            exh_app_item_id: before?.exh_app_item_id,
            exh_item_id: immutableId,
            exh_folder: 'Sent Items',
            exh_direction: 'outgoing',
          }),
        ]);
      });
      // Both folders read again since the move: the Inbox's removal did not take the row after all.
      await settled(bob, movedAt);
      expect((await rows('email_item', bob)).filter((r) => r.exh_subject === subject)).toEqual([
        expect.objectContaining({ id: before?.id, exh_item_id: immutableId, exh_folder: 'Sent Items' }),
      ]);

      // Moved to a folder no type synchronises: the row goes.
      const junk = await graph('POST', `/users/${bob}/messages/${encodeURIComponent(immutableId)}/move`, {
        destinationId: 'junkemail',
      });
      expect(junk).toMatchObject({ status: 201, body: { id: immutableId } });
      await eventually(async () =>
        expect((await rows('email_item', bob)).filter((r) => r.exh_subject === subject)).toEqual([]),
      );
    });
  });

  describe('what Graph does not carry (docs/exchange-online.md)', () => {
    it("a task's percent complete and owner stay in the application's row when the task changes in Exchange", async () => {
      await start();
      const tag = randomBytes(3).toString('hex');
      await admin.query(
        `insert into ${schema}.task_item (exh_app_item_id, exh_user, exh_subject, exh_percent_complete, exh_owner)
         values ($1, $2, $3, 40, 'Carol Ops')`,
        [`keep-${tag}`, carol, `Keeps its percent ${tag}`],
      );
      const row = async () =>
        (await rows('task_item', carol)).find((r) => r.exh_app_item_id === `keep-${tag}`) as Record<string, unknown>;
      await eventually(async () => expect((await row())?.exh_item_id).toEqual(expect.any(String)));
      // A person renames it in To Do: the echo of that change must not clear what Graph never carried.
      emulator.admin.updateItem(carol, (await row()).exh_item_id as string, { Subject: `Renamed ${tag}` });
      await eventually(async () => expect((await row())?.exh_subject).toBe(`Renamed ${tag}`));
      expect(await row()).toMatchObject({ exh_percent_complete: 40, exh_owner: 'Carol Ops' });
    });
  });

  describe('an e-mail is created in two steps (a draft, then send)', () => {
    it('an e-mail whose send failed is sent once when the outbox tries again: never left a draft, never doubled', async () => {
      await start();
      // Every send of alice's fails for longer than the client retries: the outbox row fails and is tried again.
      emulator.admin.faults.add({
        kind: 'graphUnavailable',
        retryAfterSeconds: 0,
        calls: 4,
        mailbox: alice,
        operations: ['graph.messages.send'],
      });
      const tag = randomBytes(3).toString('hex');
      await admin.query(
        `insert into ${schema}.email_item (exh_app_item_id, exh_user, exh_subject, exh_body, exh_to)
         values ($1, $2, $3, 'Hello', $4)`,
        [`mail-${tag}`, alice, `Sent once ${tag}`, bob],
      );
      const subjectIs = (i: { properties: Record<string, unknown> }) => i.properties.Subject === `Sent once ${tag}`;
      await eventually(async () => {
        expect(emulator.admin.items(bob, 'inbox').filter(subjectIs)).toHaveLength(1);
        expect(emulator.admin.items(alice, 'sentitems').filter(subjectIs)).toHaveLength(1);
      });
      expect(emulator.admin.items(alice, 'drafts').filter(subjectIs)).toEqual([]);
      const outbox = await admin.query(
        `select exh_state from ${schema}.exh_outbox where exh_user = $1 and exh_action = 'add'`,
        [alice],
      );
      expect(outbox.rows.map((r) => r.exh_state)).toContain('done');
      // The fault was met: the first attempt did fail at the send.
      expect(emulator.admin.faults.list().length).toBe(0);
    }, 60_000);
  });

  describe('throttling (docs/exchange-online.md, "Throttling")', () => {
    it('no 5th concurrent request per mailbox ever reaches the emulator: a burst of 60 items and 20 outbox rows', async () => {
      await start();
      const since = Date.now();
      // Every request of alice's mailbox takes a while, so that the burst's requests would overlap if they could.
      emulator.admin.faults.add({ kind: 'latency', ms: 25, mailbox: alice });
      const tag = randomBytes(3).toString('hex');
      for (let i = 0; i < 15; i++) {
        emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: `Burst ${tag} ${i}` });
        emulator.admin.createItem(alice, { kind: 'Contact', GivenName: `Burst ${tag}`, Surname: `${i}` });
        emulator.admin.createItem(alice, { kind: 'Task', Subject: `Burst ${tag} ${i}` });
        emulator.admin.createItem(alice, {
          kind: 'CalendarItem',
          Subject: `Burst ${tag} ${i}`,
          Start: `2026-12-${String(10 + i).padStart(2, '0')}T09:00:00Z`,
          End: `2026-12-${String(10 + i).padStart(2, '0')}T10:00:00Z`,
        });
      }
      for (let i = 0; i < 20; i++) {
        await admin.query(
          `insert into ${schema}.contact_item (exh_app_item_id, exh_user, exh_given_name, exh_surname)
           values ($1, $2, $3, $4)`,
          [`burst-${tag}-${i}`, alice, `Outbox ${tag}`, `${i}`],
        );
      }
      const mine = (r: Record<string, unknown>) => JSON.stringify(r).includes(tag);
      await eventually(async () => {
        expect((await rows('email_item', alice)).filter(mine)).toHaveLength(15);
        expect((await rows('task_item', alice)).filter(mine)).toHaveLength(15);
        expect((await rows('calendar_item', alice)).filter(mine)).toHaveLength(15);
        const contacts = (await rows('contact_item', alice)).filter(mine);
        expect(contacts).toHaveLength(35);
        // Each outbox row applied: it has its item id.
        expect(contacts.filter((r) => !r.exh_item_id)).toEqual([]);
      });
      const requests = requestsOf(alice, since);
      expect(requests.filter((r) => r.status === 429)).toEqual([]);
      const most = mostInFlight(requests);
      expect(most, 'requests of alice in flight at once').toBeLessThanOrEqual(4);
      // The burst did overlap (so the limit was what held it to 4).
      expect(most).toBeGreaterThan(1);
    });

    it('no retry precedes Retry-After: a throttled mailbox waits it out and its change arrives; another goes on', async () => {
      await start();
      const since = Date.now();
      const retryAfterSeconds = 2;
      // The contacts' delta of alice answers 429 twice in a row: the retry after each must wait out Retry-After.
      emulator.admin.faults.add({
        kind: 'graphThrottled',
        retryAfterSeconds,
        mailbox: alice,
        operations: ['graph.contacts.delta'],
        calls: 2,
      });
      const tag = randomBytes(3).toString('hex');
      const mine = (r: Record<string, unknown>) => JSON.stringify(r).includes(tag);
      emulator.admin.createItem(alice, { kind: 'Contact', GivenName: `Throttled ${tag}`, Surname: 'Alice' });
      emulator.admin.createItem(bob, { kind: 'Contact', GivenName: `Free ${tag}`, Surname: 'Bob' });
      await eventually(async () => {
        expect((await rows('contact_item', bob)).filter(mine)).toHaveLength(1);
        expect((await rows('contact_item', alice)).filter(mine)).toHaveLength(1);
      });
      const requests = requestsOf(alice, since);
      const throttled = requests.filter((r) => r.status === 429);
      expect(throttled).toHaveLength(2);
      for (const answer of throttled) {
        // Requests already on their way when the 429 was answered (the mailbox's other slots) may still arrive; none
        // sent after it may come before Retry-After has passed.
        const early = requests.filter(
          (r) => r.at > answer.answeredAt + onTheirWayMs && r.at < answer.answeredAt + retryAfterSeconds * 1000,
        );
        expect(early, `requests of alice within Retry-After of the 429 at ${answer.answeredAt}`).toEqual([]);
      }
      // bob was not held up by alice's pause: served while alice was paused.
      const firstThrottled = throttled[0] as LoggedRequest;
      expect(
        requestsOf(bob, since).some(
          (r) =>
            r.status === 200 &&
            r.at > firstThrottled.answeredAt &&
            r.at < firstThrottled.answeredAt + retryAfterSeconds * 1000,
        ),
      ).toBe(true);
    });
  });

  describe('webhooks: lifecycle events (docs/exchange-online.md, "Notifications")', () => {
    const subscriptionsOf = (user: string) => emulator.admin.graphSubscriptions().filter((s) => s.mailbox === user);
    // Each test begins without subscriptions, whatever an earlier test left (the next test proves a stop leaves none).
    beforeEach(() => void emulator.admin.expireGraphSubscriptions());

    it('a stopped connector deletes its Graph subscriptions before its pool closes: none is left posting', async () => {
      await start('push');
      expect(subscriptionsOf(alice).length).toBeGreaterThan(0);
      await world.stopConnector();
      expect(emulator.admin.graphSubscriptions()).toEqual([]);
    });
    /** alice's contacts of this test, each once: never a row doubled by a delta read again. */
    const contactsOf = async (tag: string) =>
      (await rows('contact_item', alice))
        .filter((r) => String(r.exh_given_name).endsWith(tag))
        .map((r) => r.exh_given_name)
        .sort();

    it('missed → delta: the change whose notification was dropped arrives, and one made afterwards; no row doubled', async () => {
      await start('push');
      expect(subscriptionsOf(alice).length).toBeGreaterThan(0);
      const tag = randomBytes(3).toString('hex');
      const contactsSubscription = () => subscriptionsOf(alice).find((s) => s.resource.endsWith('/contacts'));
      const attempts = contactsSubscription()?.attempts;
      // Its notification is queued and dropped by `missed` before it goes out (docs/emulator.md, "Subscriptions"):
      // both in the same tick, before the queue's next POST.
      emulator.admin.createItem(alice, { kind: 'Contact', GivenName: `Dropped ${tag}`, Surname: 'Lost' });
      const missed = await emulator.admin.graphLifecycle({
        event: 'missed',
        subscriptionId: contactsSubscription()?.id as string,
      });
      expect(missed).toEqual([{ subscriptionId: contactsSubscription()?.id, delivered: true }]);
      // The change's notification never went out.
      expect(contactsSubscription()).toMatchObject({ attempts, pending: 0 });
      await eventually(async () => expect(await contactsOf(tag)).toEqual([`Dropped ${tag}`]));

      emulator.admin.createItem(alice, { kind: 'Contact', GivenName: `After ${tag}`, Surname: 'Missed' });
      await eventually(async () => expect(await contactsOf(tag)).toEqual([`After ${tag}`, `Dropped ${tag}`]));
      await settled(alice, Date.now());
      expect(await contactsOf(tag)).toEqual([`After ${tag}`, `Dropped ${tag}`]);
    });

    it('subscriptionRemoved → recreated: new subscriptions deliver the next change, and no row is doubled', async () => {
      await start('push');
      const before = subscriptionsOf(alice);
      expect(before.length).toBeGreaterThan(0);
      const removed = await emulator.admin.graphLifecycle({ event: 'subscriptionRemoved', mailbox: alice });
      expect(removed.map((r) => r.subscriptionId).sort()).toEqual(before.map((s) => s.id).sort());
      expect(removed.every((r) => r.delivered)).toBe(true);
      // Created again on the same resources, under new ids.
      await eventually(async () => {
        const now = subscriptionsOf(alice);
        expect(now.map((s) => s.resource).sort()).toEqual(before.map((s) => s.resource).sort());
        expect(now.filter((s) => before.some((b) => b.id === s.id))).toEqual([]);
      });

      const tag = randomBytes(3).toString('hex');
      emulator.admin.createItem(alice, { kind: 'Contact', GivenName: `Recreated ${tag}`, Surname: 'After' });
      await eventually(async () => expect(await contactsOf(tag)).toEqual([`Recreated ${tag}`]));
      // The change went out through a recreated subscription, delivered.
      const contacts = subscriptionsOf(alice).find((s) => s.resource.endsWith('/contacts'));
      expect(contacts).toMatchObject({ pending: 0, failures: 0 });
      expect(contacts?.attempts).toBeGreaterThan(0);
      await settled(alice, Date.now());
      expect(await contactsOf(tag)).toEqual([`Recreated ${tag}`]);
    });
  });
});

/** How long after a 429 was answered a request already sent may still arrive (the emulator runs in this process). */
const onTheirWayMs = 100;

/** How many of `requests` were in flight when each arrived, at most (itself included). */
function mostInFlight(requests: readonly LoggedRequest[]): number {
  return Math.max(0, ...requests.map((r) => requests.filter((o) => o.at <= r.at && o.answeredAt > r.at).length));
}
