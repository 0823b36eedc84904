import { afterAll, describe, expect, it, vi } from 'vitest';
import { startEmulator } from '../../../../emulator/index.js';
import type { MailboxConnection, Subscription, SubscriptionEvent } from '../../../../src/ports/exchange.port.js';
import { live, testAdapter } from '../support.js';

// Three mailboxes on one Mailbox server: one streaming group, anchored by the first (docs/exchange-on-premises.md).
const users = ['anchor@contoso.test', 'b@contoso.test', 'c@contoso.test'];
const emulator = await startEmulator({ port: 0, mailboxes: users, mailboxServers: 1, keepAliveMs: 100 });
afterAll(() => emulator.close());
const adapter = testAdapter(
  emulator,
  { staticEwsUrl: undefined, concurrency: 4 },
  {
    autodiscoverCandidates: () => [emulator.autodiscoverUrl],
    tuning: { streamRegroupMs: 50, streamSilenceMs: 1_000 },
  },
);

interface Live {
  user: string;
  events: SubscriptionEvent[];
  subscription: Subscription;
}

async function subscribe(user: string): Promise<Live> {
  const connection: MailboxConnection = await adapter.exchange.connect(user, live());
  const events: SubscriptionEvent[] = [];
  const subscription = await connection.subscribe(['calendar'], 'streaming', (e) => void events.push(e), live());
  return { user, events, subscription };
}

const carried = () => emulator.admin.streamingConnections().map((c) => c.subscriptions.length);

describe('a streaming group whose anchor leaves', () => {
  it('is anchored by a mailbox it carries, and goes on when the first anchor is removed from Exchange', async () => {
    const [anchor, ...others] = [
      await subscribe(users[0] as string),
      ...(await Promise.all(users.slice(1).map(subscribe))),
    ];
    await vi.waitFor(() => expect(carried()).toEqual([3]));
    await (anchor as Live).subscription.close();
    // The stream opened again for the two others impersonates one of them.
    await vi.waitFor(() =>
      expect(emulator.admin.streamingConnections().map((c) => [c.budget, c.subscriptions.length])).toEqual([
        [expect.not.stringContaining('anchor@contoso.test'), 2],
      ]),
    );

    emulator.admin.removeMailbox('anchor@contoso.test');
    for (const m of others) {
      emulator.admin.createItem(m.user, {
        kind: 'CalendarItem',
        Subject: `For ${m.user}`,
        Start: '2026-05-01T09:00:00Z',
        End: '2026-05-01T10:00:00Z',
      });
    }
    await vi.waitFor(() =>
      expect(others.map((m) => m.events.filter((e) => e.type === 'changed').length)).toEqual([1, 1]),
    );
    const requests = emulator.admin.requests().filter((r) => r.operation === 'GetStreamingEvents');
    expect(requests.at(-1)?.anchorMailbox).not.toBe('anchor@contoso.test');
    expect(others.flatMap((m) => m.events.filter((e) => e.type === 'lost'))).toEqual([]);
  });
});
