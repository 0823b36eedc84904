import { afterAll, describe, expect, it, vi } from 'vitest';
import { startEmulator } from '../../../../emulator/index.js';
import type { MailboxConnection, Subscription, SubscriptionEvent } from '../../../../src/ports/exchange.port.js';
import { live, testAdapter } from '../support.js';

// 450 mailboxes on one Mailbox server (one GroupingInformation): Microsoft's grouping puts them on 3 streaming
// connections of at most 200 subscriptions (docs/exchange-on-premises.md, "Streaming at scale"). Keep-alives every
// 100 ms, so that a stalled connection is noticed within streamSilenceMs. Without response validation: thousands of
// answers are more than the schema checker holds, and the other emulator tests validate these operations.
const users = Array.from({ length: 450 }, (_, i) => `user${String(i).padStart(3, '0')}@contoso.test`);
const emulator = await startEmulator({ port: 0, mailboxes: users, mailboxServers: 1, keepAliveMs: 100 });
afterAll(() => emulator.close());
const adapter = testAdapter(
  emulator,
  { staticEwsUrl: undefined, concurrency: 16 },
  {
    autodiscoverCandidates: () => [emulator.autodiscoverUrl],
    tuning: { streamRegroupMs: 50, streamSilenceMs: 1_000 },
  },
);

interface Live {
  user: string;
  connection: MailboxConnection;
  events: SubscriptionEvent[];
  subscription: Subscription;
}

async function subscribe(user: string, connection?: MailboxConnection): Promise<Live> {
  const mailbox = connection ?? (await adapter.exchange.connect(user, live()));
  const events: SubscriptionEvent[] = [];
  const subscription = await mailbox.subscribe(['calendar'], 'streaming', (e) => void events.push(e), live());
  return { user, connection: mailbox, events, subscription };
}

const lost = (m: Live) => m.events.filter((e) => e.type === 'lost');
const changed = (m: Live) => m.events.filter((e) => e.type === 'changed');
const connections = () => emulator.admin.streamingConnections();
const event = (subject: string) => ({
  kind: 'CalendarItem' as const,
  Subject: subject,
  Start: '2026-05-01T09:00:00Z',
  End: '2026-05-01T10:00:00Z',
});

const mailboxes: Live[] = [];
for (let i = 0; i < users.length; i += 50) {
  mailboxes.push(...(await Promise.all(users.slice(i, i + 50).map((user) => subscribe(user)))));
}

describe('streaming groups', () => {
  it('streams 450 mailboxes over 3 connections, each mailbox with its own notifications', async () => {
    await vi.waitFor(() =>
      expect(
        connections()
          .map((c) => c.subscriptions.length)
          .sort((a, b) => b - a),
      ).toEqual([200, 200, 50]),
    );
    const carried = connections().flatMap((c) => c.subscriptions);
    expect(new Set(carried)).toEqual(new Set(mailboxes.map((m) => m.subscription.id)));
    // Each connection impersonates its group's anchor: it counts against that mailbox's budget.
    expect(connections().every((c) => c.budget.endsWith('(impersonated)'))).toBe(true);

    for (const m of mailboxes) emulator.admin.createItem(m.user, event(`For ${m.user}`));
    await vi.waitFor(() => expect(mailboxes.filter((m) => changed(m).length === 0)).toEqual([]), { timeout: 10_000 });
    for (const m of mailboxes) expect(changed(m)).toEqual([{ type: 'changed', folders: ['calendar'] }]);
    expect(mailboxes.flatMap(lost)).toEqual([]);
  });

  it('sends the anchor, X-PreferServerAffinity and the cookie of the first answer on every request of a group', async () => {
    const requests = emulator.admin
      .requests()
      .filter((r) => r.operation === 'Subscribe' || r.operation === 'GetStreamingEvents');
    const anchors = new Set(connections().map((c) => c.budget.replace(' (impersonated)', '')));
    expect(anchors.size).toBe(3);
    expect(requests.length).toBeGreaterThanOrEqual(450 + 3);
    for (const request of requests) {
      expect(request.preferServerAffinity).toBe(true);
      expect(anchors.has(request.anchorMailbox ?? '')).toBe(true);
    }
    // Only each group's first Subscribe goes without the cookie (its answer sets it).
    const withoutCookie = requests.filter((r) => r.backEndCookie === undefined);
    expect(withoutCookie.map((r) => r.operation)).toEqual(['Subscribe', 'Subscribe', 'Subscribe']);
    expect(withoutCookie.map((r) => r.mailbox).sort()).toEqual([...anchors].sort());
  });

  it('one subscription expiring is lost for its mailbox only; it joins again and is carried', async () => {
    const [victim] = mailboxes.splice(7, 1) as [Live];
    expect(emulator.admin.expireSubscriptions({ mailbox: victim.user })).toBe(1);
    await vi.waitFor(() => expect(lost(victim)).toHaveLength(1));
    expect(lost(victim)[0]).toMatchObject({ error: { code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST' } });
    expect(mailboxes.flatMap(lost)).toEqual([]);
    // What its actor does: close, subscribe again.
    await victim.subscription.close();
    const again = await subscribe(victim.user, victim.connection);
    mailboxes.push(again);
    await vi.waitFor(() => expect(connections().flatMap((c) => c.subscriptions)).toContain(again.subscription.id));
    expect(connections()).toHaveLength(3);
    emulator.admin.createItem(again.user, event('After resubscribing'));
    await vi.waitFor(() => expect(changed(again)).toHaveLength(1));
    expect(mailboxes.flatMap(lost)).toEqual([]);
  });

  it('a connection that drops (silent) is lost for the mailboxes it carried, and only for them', async () => {
    const [victim] = connections().sort((a, b) => a.subscriptions.length - b.subscriptions.length) as [
      ReturnType<typeof connections>[number],
    ];
    const anchor = victim.budget.replace(' (impersonated)', '');
    const carried = new Set(victim.subscriptions);
    const stall = emulator.admin.faults.add({ kind: 'stallStreaming', mailbox: anchor });
    try {
      const group = mailboxes.filter((m) => carried.has(m.subscription.id));
      const others = mailboxes.filter((m) => !carried.has(m.subscription.id));
      await vi.waitFor(() => expect(group.filter((m) => lost(m).length === 0)).toEqual([]), { timeout: 10_000 });
      expect(group.map((m) => lost(m)[0])).toEqual(
        group.map(() => ({ type: 'lost', error: expect.objectContaining({ code: 'EXH_EXCHANGE_TIMEOUT' }) })),
      );
      expect(others.flatMap(lost)).toEqual([]);
    } finally {
      emulator.admin.faults.remove(stall.id);
    }
  });
});
