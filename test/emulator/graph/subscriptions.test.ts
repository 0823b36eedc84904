import { Contact } from 'ews-javascript-api';
import { describe, expect, it, vi } from 'vitest';
import type { RunningEmulator } from '../../../emulator/index.js';
import { SimulatedClock } from '../support/clock.js';
import { ewsService } from '../support/harness.js';
import { graph, secretToken, startGraphEmulator } from './support-e2/graph.js';
import { startWebhook, type Webhook } from './support-e2/webhook.js';

/**
 * Graph subscriptions as the emulator serves them (emulator/graph/subscriptions.ts, notifications/), over real HTTP
 * with a real webhook endpoint: Graph's checks, the validation handshake, change notifications for changes made
 * through the admin API (the code EWS runs), through EWS itself and through Graph, immutable ids, retries and
 * dropping on a simulated clock, the lifecycle events and expiry.
 */

const inbox = "users/alice@contoso.test/mailFolders('inbox')/messages";
const immutable = { prefer: 'IdType="ImmutableId"' };
const waitLong = { timeout: 5000, interval: 10 };

function later(clock: SimulatedClock | undefined, minutes: number): string {
  return new Date((clock ? clock.now() : Date.now()) + minutes * 60_000).toISOString();
}

async function subscribe(
  emulator: RunningEmulator,
  hook: Webhook,
  body: Record<string, unknown> = {},
  options: { clock?: SimulatedClock; headers?: Record<string, string> } = {},
) {
  return graph(emulator, await secretToken(emulator), 'POST', '/subscriptions', {
    body: {
      changeType: 'created,updated,deleted',
      notificationUrl: hook.url,
      resource: inbox,
      expirationDateTime: later(options.clock, 60),
      clientState: 'secret-client-state',
      ...body,
    },
    ...(options.headers ? { headers: options.headers } : {}),
  });
}

async function subscribed(
  emulator: RunningEmulator,
  hook: Webhook,
  body: Record<string, unknown> = {},
  options: { clock?: SimulatedClock; headers?: Record<string, string> } = {},
): Promise<string> {
  const answer = await subscribe(emulator, hook, body, options);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body.id as string;
}

function mail(emulator: RunningEmulator, subject: string, to = 'alice@contoso.test') {
  return emulator.admin.createItem(to, { kind: 'Message', folder: 'inbox', Subject: subject });
}

function forSubscription(hook: Webhook, id: string): Record<string, unknown>[] {
  return hook.changes().filter((c) => c.subscriptionId === id);
}

function state(emulator: RunningEmulator, id: string) {
  const found = emulator.admin.graphSubscriptions().find((s) => s.id === id);
  if (!found) throw new Error(`no subscription ${id}`);
  return found;
}

describe('Graph subscriptions', async () => {
  const emulator = await startGraphEmulator();
  const hook = await startWebhook();

  describe('creating one', () => {
    it('validates the endpoint with a token it must echo, then answers 201 with the subscription', async () => {
      const before = hook.received.length;
      const answer = await subscribe(emulator, hook);
      expect(answer.status).toBe(201);
      const validation = hook.received.slice(before).filter((r) => r.validationToken !== null);
      expect(validation).toHaveLength(1);
      expect(validation[0]?.validationToken).toMatch(/^Validation: /);
      expect(answer.body).toMatchObject({
        resource: inbox,
        changeType: 'created,updated,deleted',
        notificationUrl: hook.url,
        clientState: 'secret-client-state',
        applicationId: '00000000-0000-0000-0000-0000000e4e00',
        lifecycleNotificationUrl: null,
        latestSupportedTlsVersion: 'v1_2',
      });
      expect(answer.body.expirationDateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
      const token = await secretToken(emulator);
      const one = await graph(emulator, token, 'GET', `/subscriptions/${answer.body.id}`);
      expect(one.body).toMatchObject({ id: answer.body.id, resource: inbox });
      const all = await graph<{ value: { id: string }[] }>(emulator, token, 'GET', '/subscriptions');
      expect(all.body.value.map((s) => s.id)).toContain(answer.body.id);
    });

    it('validates the lifecycleNotificationUrl too', async () => {
      const before = hook.received.length;
      await subscribed(emulator, hook, { lifecycleNotificationUrl: hook.lifecycleUrl });
      const paths = hook.received
        .slice(before)
        .filter((r) => r.validationToken !== null)
        .map((r) => r.path);
      expect(paths).toEqual(['/notify', '/lifecycle']);
    });

    it('is refused with 400 ValidationError when the endpoint fails the handshake, and nothing is created', async () => {
      const count = emulator.admin.graphSubscriptions().length;
      hook.validation = 500;
      const failed = await subscribe(emulator, hook);
      hook.validation = 'wrongToken';
      const wrong = await subscribe(emulator, hook);
      hook.validation = 'accept';
      expect(failed.status).toBe(400);
      expect(failed.body).toMatchObject({ error: { code: 'ValidationError' } });
      expect(wrong.status).toBe(400);
      expect(wrong.body).toMatchObject({
        error: {
          code: 'ValidationError',
          message:
            'Subscription validation request failed. Response must exactly match validationToken query parameter.',
        },
      });
      expect(emulator.admin.graphSubscriptions()).toHaveLength(count);
    });

    it('checks what Graph checks: changeType, https URLs (http only on 127.0.0.1), clientState, expiry, the resource', async () => {
      const refused = async (body: Record<string, unknown>, status = 400, code = 'InvalidRequest') => {
        const answer = await subscribe(emulator, hook, body);
        expect(answer.status, JSON.stringify(body)).toBe(status);
        expect((answer.body.error as { code: string }).code).toBe(code);
        return (answer.body.error as { message: string }).message;
      };
      expect(await refused({ changeType: 'created,renamed' })).toContain("'renamed'");
      expect(await refused({ notificationUrl: 'http://example.com/hook' })).toContain('https');
      expect(await refused({ lifecycleNotificationUrl: 'ftp://127.0.0.1/x' })).toContain('https');
      expect(await refused({ clientState: 'x'.repeat(129) })).toContain('128');
      expect(await refused({ expirationDateTime: later(undefined, 10_081) })).toContain('10080 minutes');
      expect(await refused({ expirationDateTime: later(undefined, -1) })).toContain('future');
      expect(await refused({ resource: 'users/alice@contoso.test/drive/root' })).toContain('Unsupported resource');
      expect(await refused({ resource: "me/mailFolders('inbox')/messages" }, 400, 'BadRequest')).toContain('/me');
      expect(await refused({ includeResourceData: true })).toContain('includeResourceData');
      expect(await refused({ resource: 'users/nobody@contoso.test/events' }, 404, 'ExtensionError')).toContain(
        'nobody@contoso.test',
      );
      expect((await subscribe(emulator, hook, { clientState: 'x'.repeat(128) })).status).toBe(201);
      expect((await subscribe(emulator, hook, { expirationDateTime: later(undefined, 10_079) })).status).toBe(201);
    });

    it('answers MailboxNotEnabledForRESTAPI for a mailbox marked on premises', async () => {
      const onPremises = await startGraphEmulator({ mailboxes: ['alice@contoso.test', 'dave@contoso.test'] });
      onPremises.admin.markOnPremises('dave@contoso.test');
      const answer = await subscribe(onPremises, hook, { resource: 'users/dave@contoso.test/events' });
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ error: { code: 'MailboxNotEnabledForRESTAPI' } });
    });

    it('needs a token', async () => {
      const answer = await graph(emulator, undefined, 'POST', '/subscriptions', { body: {} });
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ error: { code: 'InvalidAuthenticationToken' } });
    });
  });

  describe('change notifications', () => {
    it('reports a message created, changed and moved out of the Inbox (admin API, the code EWS runs)', async () => {
      const id = await subscribed(emulator, hook);
      const item = mail(emulator, 'Quarterly figures');
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(1), waitLong);
      const [created] = forSubscription(hook, id) as [Record<string, unknown>];
      const { tenantId } = emulator.admin.graphApp();
      expect(created).toMatchObject({
        subscriptionId: id,
        changeType: 'created',
        clientState: 'secret-client-state',
        tenantId,
        resourceData: { '@odata.type': '#Microsoft.Graph.Message' },
      });
      expect(created.subscriptionExpirationDateTime).toMatch(/Z$/);
      const data = created.resourceData as Record<string, string>;
      expect(created.resource).toBe(data['@odata.id']);
      expect(created.resource).toMatch(new RegExp(`^Users/[0-9a-f-]{36}/Messages/${escapeRegExp(data.id as string)}$`));
      expect(data['@odata.etag']).toMatch(/^W\/"/);
      // The id is the one Graph's resources answer to.
      const token = await secretToken(emulator);
      const read = await graph(emulator, token, 'GET', `/users/alice@contoso.test/messages/${data.id}`);
      expect(read.body.subject).toBe('Quarterly figures');
      expect(hook.posts().at(-1)?.contentType).toContain('application/json');

      emulator.admin.updateItem('alice@contoso.test', item?.id as string, { Subject: 'Quarterly figures (v2)' });
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(2), waitLong);
      emulator.admin.deleteItem('alice@contoso.test', item?.id as string);
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(3), waitLong);
      const changes = forSubscription(hook, id);
      expect(changes.map((c) => c.changeType)).toEqual(['created', 'updated', 'deleted']);
      expect(changes.map((c) => (c.resourceData as { id: string }).id)).toEqual([data.id, data.id, data.id]);
    });

    it('keeps an item its immutable id across a move when the subscription asked for immutable ids', async () => {
      const id = await subscribed(emulator, hook, {}, { headers: immutable });
      const item = mail(emulator, 'Moves to Deleted Items');
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(1), waitLong);
      emulator.admin.deleteItem('alice@contoso.test', item?.id as string);
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(2), waitLong);
      const [created, deleted] = forSubscription(hook, id) as [Record<string, unknown>, Record<string, unknown>];
      expect(deleted.changeType).toBe('deleted');
      const createdId = (created.resourceData as { id: string }).id;
      expect((deleted.resourceData as { id: string }).id).toBe(createdId);
      const token = await secretToken(emulator);
      const read = await graph(emulator, token, 'GET', `/users/alice@contoso.test/messages/${createdId}`, {
        headers: immutable,
      });
      expect(read.body.subject).toBe('Moves to Deleted Items');
    });

    it('batches the changes of one moment into one POST', async () => {
      const id = await subscribed(emulator, hook, { changeType: 'created' });
      const posts = hook.posts().length;
      mail(emulator, 'one');
      mail(emulator, 'two');
      mail(emulator, 'three');
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(3), waitLong);
      const mine = hook
        .posts()
        .slice(posts)
        .filter((p) => p.body.includes(id));
      expect(mine).toHaveLength(1);
    });

    it('reports only the change types asked for', async () => {
      const id = await subscribed(emulator, hook, { changeType: 'created' });
      const first = mail(emulator, 'created only');
      emulator.admin.updateItem('alice@contoso.test', first?.id as string, { Subject: 'changed' });
      mail(emulator, 'and another');
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(2), waitLong);
      expect(forSubscription(hook, id).map((c) => c.changeType)).toEqual(['created', 'created']);
    });

    it("reports Sent Items for a message sent, and nothing of another mailbox's", async () => {
      const sent = await subscribed(emulator, hook, {
        resource: "users/alice@contoso.test/mailFolders('sentitems')/messages",
      });
      const bobs = await subscribed(emulator, hook, {
        resource: "/users/bob@contoso.test/mailFolders('inbox')/messages",
      });
      emulator.admin.createItem('alice@contoso.test', {
        kind: 'Message',
        send: true,
        Subject: 'For Bob',
        ToRecipients: ['bob@contoso.test'],
      });
      await vi.waitFor(() => expect(forSubscription(hook, sent)).toHaveLength(1), waitLong);
      await vi.waitFor(() => expect(forSubscription(hook, bobs)).toHaveLength(1), waitLong);
      expect(forSubscription(hook, sent)[0]?.changeType).toBe('created');
      expect(forSubscription(hook, bobs)[0]?.resource).toMatch(/\/Messages\//);
    });

    it('reports a contact saved through EWS (ews-javascript-api)', async () => {
      const id = await subscribed(emulator, hook, { resource: 'users/alice@contoso.test/contacts' });
      const contact = new Contact(ewsService(emulator, 'alice@contoso.test'));
      contact.GivenName = 'Erin';
      contact.Surname = 'Example';
      await contact.Save();
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(1), waitLong);
      expect(forSubscription(hook, id)[0]).toMatchObject({
        changeType: 'created',
        resourceData: { '@odata.type': '#Microsoft.Graph.Contact' },
      });
      expect(forSubscription(hook, id)[0]?.resource).toMatch(/\/Contacts\//);
    });

    it('reports an event created through Graph under the id Graph gave it', async () => {
      const id = await subscribed(
        emulator,
        hook,
        { resource: 'users/alice@contoso.test/events' },
        { headers: immutable },
      );
      const token = await secretToken(emulator);
      const created = await graph(emulator, token, 'POST', '/users/alice@contoso.test/events', {
        headers: immutable,
        body: {
          subject: 'Planning',
          start: { dateTime: '2024-06-03T09:00:00', timeZone: 'UTC' },
          end: { dateTime: '2024-06-03T10:00:00', timeZone: 'UTC' },
        },
      });
      expect(created.status).toBe(201);
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(1), waitLong);
      expect(forSubscription(hook, id)[0]).toMatchObject({
        changeType: 'created',
        resourceData: { '@odata.type': '#Microsoft.Graph.Event', id: created.body.id },
      });
    });
  });

  describe('moving the endpoint', () => {
    it('validates a new notificationUrl given by PATCH before using it, and keeps the old one if it fails', async () => {
      const id = await subscribed(emulator, hook);
      const other = await startWebhook();
      const token = await secretToken(emulator);
      other.validation = 500;
      const refused = await graph(emulator, token, 'PATCH', `/subscriptions/${id}`, {
        body: { notificationUrl: other.url },
      });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: { code: 'ValidationError' } });
      expect((await graph(emulator, token, 'GET', `/subscriptions/${id}`)).body.notificationUrl).toBe(hook.url);
      other.validation = 'accept';
      const moved = await graph(emulator, token, 'PATCH', `/subscriptions/${id}`, {
        body: { notificationUrl: other.url },
      });
      expect(moved.status).toBe(200);
      expect(moved.body.notificationUrl).toBe(other.url);
      mail(emulator, 'to the new endpoint');
      await vi.waitFor(() => expect(forSubscription(other, id)).toHaveLength(1), waitLong);
      expect(forSubscription(hook, id)).toHaveLength(0);
    });

    it('answers 400 for a body that is not JSON or not an object', async () => {
      const token = await secretToken(emulator);
      const junk = await fetch(`${emulator.graphUrl}/subscriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{"changeType": ',
      });
      expect(junk.status).toBe(400);
      expect(await junk.json()).toMatchObject({ error: { code: 'BadRequest' } });
      const list = await graph(emulator, token, 'POST', '/subscriptions', { body: [1, 2] });
      expect(list.status).toBe(400);
    });
  });

  describe('renewal, reauthorization and deletion', () => {
    it('renews by PATCH within the limit, reauthorizes, and deletes', async () => {
      const id = await subscribed(emulator, hook);
      const token = await secretToken(emulator);
      const expirationDateTime = later(undefined, 10_000);
      const renewed = await graph(emulator, token, 'PATCH', `/subscriptions/${id}`, { body: { expirationDateTime } });
      expect(renewed.status).toBe(200);
      expect(Date.parse(renewed.body.expirationDateTime as string)).toBe(Date.parse(expirationDateTime));
      const tooLong = await graph(emulator, token, 'PATCH', `/subscriptions/${id}`, {
        body: { expirationDateTime: later(undefined, 20_000) },
      });
      expect(tooLong.status).toBe(400);
      const other = await graph(emulator, token, 'PATCH', `/subscriptions/${id}`, { body: { resource: 'x' } });
      expect(other.status).toBe(400);
      const reauthorized = await fetch(`${emulator.graphUrl}/subscriptions/${id}/reauthorize`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(reauthorized.status).toBe(204);
      const deleted = await graph(emulator, token, 'DELETE', `/subscriptions/${id}`);
      expect(deleted.status).toBe(204);
      const gone = await graph(emulator, token, 'GET', `/subscriptions/${id}`);
      expect(gone.status).toBe(404);
      expect(gone.body).toMatchObject({ error: { code: 'ResourceNotFound' } });
      expect((await graph(emulator, token, 'DELETE', `/subscriptions/${id}`)).status).toBe(404);
      expect((await graph(emulator, token, 'POST', `/subscriptions/${id}/reauthorize`)).status).toBe(404);
    });
  });
});

describe('Graph subscriptions on the emulator clock', async () => {
  const clock = new SimulatedClock(Date.UTC(2024, 5, 3, 8));
  const emulator = await startGraphEmulator({ clock });
  const hook = await startWebhook();

  it('refuses a subscription whose endpoint takes longer than 10 seconds to validate', async () => {
    hook.validation = 'hang';
    const seen = hook.received.length;
    const pending = subscribe(emulator, hook, {}, { clock });
    await vi.waitFor(() => expect(hook.received.length).toBe(seen + 1), waitLong);
    clock.advance(9_999);
    clock.advance(1);
    const answer = await pending;
    hook.release(200);
    hook.validation = 'accept';
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      error: { code: 'ValidationError', message: 'Subscription validation request timed out.' },
    });
  });

  it('retries a notification answered with an error after a minute, and delivers it then', async () => {
    const id = await subscribed(emulator, hook, {}, { clock });
    hook.notifications = 500;
    mail(emulator, 'retried');
    await vi.waitFor(() => expect(state(emulator, id).retrying).toBe(true), waitLong);
    expect(clock.pending.at(-1)).toBe(60_000);
    hook.notifications = 'accept';
    clock.advance(60_000);
    await vi.waitFor(() => expect(state(emulator, id).pending).toBe(0), waitLong);
    expect(state(emulator, id)).toMatchObject({ attempts: 2, failures: 1, retrying: false });
    const posts = hook.posts().filter((p) => p.body.includes(id));
    expect(posts).toHaveLength(2);
    expect(posts[0]?.body).toBe(posts[1]?.body);
  });

  it('counts an answer slower than 3 seconds as failed and sends the notification again', async () => {
    const id = await subscribed(emulator, hook, {}, { clock });
    hook.notifications = 'hang';
    mail(emulator, 'slow endpoint');
    await vi.waitFor(() => expect(hook.posts().filter((p) => p.body.includes(id))).toHaveLength(1), waitLong);
    clock.advance(3_000);
    await vi.waitFor(() => expect(state(emulator, id).retrying).toBe(true), waitLong);
    hook.release(202);
    hook.notifications = 'accept';
    clock.advance(60_000);
    await vi.waitFor(() => expect(state(emulator, id).pending).toBe(0), waitLong);
    expect(hook.posts().filter((p) => p.body.includes(id))).toHaveLength(2);
  });

  it('backs off doubling up to 30 minutes, drops what it could not deliver in 4 hours, and says missed', async () => {
    const id = await subscribed(
      emulator,
      hook,
      { lifecycleNotificationUrl: hook.lifecycleUrl, expirationDateTime: later(clock, 3 * 24 * 60) },
      { clock },
    );
    hook.notifications = 503;
    mail(emulator, 'never delivered');
    const delays: number[] = [];
    const missed = () => hook.lifecycle().filter((l) => l.subscriptionId === id && l.lifecycleEvent === 'missed');
    for (let round = 0; round < 30 && missed().length === 0; round++) {
      await vi.waitFor(() => expect(state(emulator, id).retrying || missed().length > 0).toBe(true), waitLong);
      if (missed().length > 0) break;
      const delay = clock.pending.at(-1) as number;
      delays.push(delay / 1000);
      clock.advance(delay);
      await vi.waitFor(
        () => expect(state(emulator, id).attempts === delays.length + 1 || missed().length > 0).toBe(true),
        waitLong,
      );
    }
    hook.notifications = 'accept';
    expect(delays.slice(0, 7)).toEqual([60, 120, 240, 480, 960, 1800, 1800]);
    expect(delays.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(4 * 3600);
    expect(delays.reduce((a, b) => a + b, 0) - (delays.at(-1) ?? 0)).toBeLessThan(4 * 3600);
    expect(missed()).toHaveLength(1);
    expect(missed()[0]).toMatchObject({
      clientState: 'secret-client-state',
      tenantId: emulator.admin.graphApp().tenantId,
    });
    expect(state(emulator, id).pending).toBe(0);
    expect(forSubscription(hook, id)).toHaveLength(state(emulator, id).attempts);
  });

  describe('lifecycle events', () => {
    it('reauthorizationRequired holds notifications until the app reauthorizes', async () => {
      const id = await subscribed(emulator, hook, { lifecycleNotificationUrl: hook.lifecycleUrl }, { clock });
      const result = await emulator.admin.graphLifecycle({ event: 'reauthorizationRequired', subscriptionId: id });
      expect(result).toEqual([{ subscriptionId: id, delivered: true }]);
      expect(hook.lifecycle().filter((l) => l.subscriptionId === id)).toEqual([
        expect.objectContaining({ lifecycleEvent: 'reauthorizationRequired', clientState: 'secret-client-state' }),
      ]);
      mail(emulator, 'held back');
      const token = await secretToken(emulator);
      expect((await graph(emulator, token, 'GET', `/subscriptions/${id}`)).status).toBe(200);
      expect(state(emulator, id)).toMatchObject({ needsReauthorization: true, pending: 1 });
      expect(forSubscription(hook, id)).toHaveLength(0);
      expect((await graph(emulator, token, 'POST', `/subscriptions/${id}/reauthorize`)).status).toBe(204);
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(1), waitLong);
      expect(state(emulator, id).needsReauthorization).toBe(false);
    });

    it('a renewal reauthorizes too', async () => {
      const id = await subscribed(emulator, hook, { lifecycleNotificationUrl: hook.lifecycleUrl }, { clock });
      await emulator.admin.graphLifecycle({ event: 'reauthorizationRequired', subscriptionId: id });
      mail(emulator, 'held until renewal');
      const token = await secretToken(emulator);
      const renewed = await graph(emulator, token, 'PATCH', `/subscriptions/${id}`, {
        body: { expirationDateTime: later(clock, 120) },
      });
      expect(renewed.status).toBe(200);
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(1), waitLong);
    });

    it('missed drops what was queued', async () => {
      const id = await subscribed(emulator, hook, { lifecycleNotificationUrl: hook.lifecycleUrl }, { clock });
      await emulator.admin.graphLifecycle({ event: 'reauthorizationRequired', subscriptionId: id });
      mail(emulator, 'dropped');
      expect(state(emulator, id).pending).toBe(1);
      await emulator.admin.graphLifecycle({ event: 'missed', subscriptionId: id });
      expect(state(emulator, id).pending).toBe(0);
      expect(
        hook
          .lifecycle()
          .filter((l) => l.subscriptionId === id)
          .map((l) => l.lifecycleEvent),
      ).toEqual(['reauthorizationRequired', 'missed']);
      const token = await secretToken(emulator);
      await graph(emulator, token, 'POST', `/subscriptions/${id}/reauthorize`);
      mail(emulator, 'after the gap');
      await vi.waitFor(() => expect(forSubscription(hook, id)).toHaveLength(1), waitLong);
    });

    it('subscriptionRemoved ends the subscription (also through the admin HTTP API)', async () => {
      const id = await subscribed(emulator, hook, { lifecycleNotificationUrl: hook.lifecycleUrl }, { clock });
      const response = await fetch(`${emulator.adminUrl}/graph/subscriptions/lifecycle`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${emulator.serviceAccount}:${emulator.password}`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ event: 'subscriptionRemoved', subscriptionId: id }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual([{ subscriptionId: id, delivered: true }]);
      expect(hook.lifecycle().filter((l) => l.subscriptionId === id)).toEqual([
        expect.objectContaining({ lifecycleEvent: 'subscriptionRemoved' }),
      ]);
      const token = await secretToken(emulator);
      expect((await graph(emulator, token, 'GET', `/subscriptions/${id}`)).status).toBe(404);
      expect(emulator.admin.graphSubscriptions().map((s) => s.id)).not.toContain(id);
    });

    it('refuses an unknown subscription or event', async () => {
      await expect(emulator.admin.graphLifecycle({ event: 'missed', subscriptionId: 'nope' })).rejects.toThrow(
        /No Graph subscription/,
      );
      await expect(emulator.admin.graphLifecycle({ event: 'exploded' as never })).rejects.toThrow(/event must be/);
    });
  });

  it('expires at its expirationDateTime on the emulator clock unless renewed', async () => {
    const id = await subscribed(emulator, hook, { expirationDateTime: later(clock, 60) }, { clock });
    clock.advance(59 * 60_000);
    const token = await secretToken(emulator);
    expect((await graph(emulator, token, 'GET', `/subscriptions/${id}`)).status).toBe(200);
    const renewed = await graph(emulator, token, 'PATCH', `/subscriptions/${id}`, {
      body: { expirationDateTime: later(clock, 60) },
    });
    expect(renewed.status).toBe(200);
    clock.advance(59 * 60_000);
    expect((await graph(emulator, token, 'GET', `/subscriptions/${id}`)).status).toBe(200);
    clock.advance(60_000);
    const fresh = await secretToken(emulator);
    expect((await graph(emulator, fresh, 'GET', `/subscriptions/${id}`)).status).toBe(404);
    expect(emulator.admin.graphSubscriptions().map((s) => s.id)).not.toContain(id);
  });

  it('end with their mailbox', async () => {
    emulator.admin.addMailbox('frank@contoso.test');
    const id = await subscribed(emulator, hook, { resource: 'users/frank@contoso.test/contacts' }, { clock });
    emulator.admin.removeMailbox('frank@contoso.test');
    const token = await secretToken(emulator);
    expect((await graph(emulator, token, 'GET', `/subscriptions/${id}`)).status).toBe(404);
  });

  it('ends subscriptions as if they expired through the admin API', async () => {
    const id = await subscribed(emulator, hook, {}, { clock });
    expect(emulator.admin.expireGraphSubscriptions({ subscriptionId: id })).toBe(1);
    const token = await secretToken(emulator);
    expect((await graph(emulator, token, 'GET', `/subscriptions/${id}`)).status).toBe(404);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
