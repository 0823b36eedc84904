import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ExchangeWorld,
  exchangeWorld,
  type LogRecord,
  type MadeItem,
  seconds,
  settle,
  sleep,
  suiteBackoff,
} from './support/exchange-world.js';

const pgUrl = process.env.PG_URL;
const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';
const kinds = ['Task', 'Contact', 'CalendarItem', 'Message'] as const;

/**
 * What happens to one mailbox (docs/reliability.md, "Exchange faults"): Exchange forgets where the connector was
 * (ErrorInvalidSyncStateData), moves the mailbox (ErrorMailboxMoveInProgress), or refuses it for good
 * (ErrorImpersonateUserDenied) until somebody fixes that and users are registered again.
 */
describe.skipIf(!pgUrl)('Exchange faults: sync state, mailbox move, permanent failure (emulator, PostgreSQL)', () => {
  let world: ExchangeWorld;
  let dashboard: string;

  beforeAll(async () => {
    world = await exchangeWorld(pgUrl as string, { name: 'xmailbox', mailboxes: [alice, bob] });
    const started = Date.now();
    await world.startConnector({ http: true });
    for (const user of [alice, bob]) await world.liveAt(user, started);
    const listening = await world.record((r) => r.event === 'http.listening', started, 10_000);
    dashboard = `http://127.0.0.1:${String(listening.port)}`;
  }, 60_000);
  afterAll(() => world?.close());

  /** Markers of `items` that still have a row. */
  const stillThere = async (items: MadeItem[]) => {
    const rows = await world.rowsByMarker(alice);
    return items.filter((item) => rows.has(item.marker)).map((item) => item.marker);
  };

  it('invalid sync state: the folders are read again from the start, no duplicates, deletions in the gap applied', async () => {
    const kept = kinds.flatMap((kind) => [world.make(alice, 'kept', kind), world.make(alice, 'kept', kind)]);
    expect((await world.arrivals(alice, kept)).missing).toEqual([]);

    // From now on Exchange accepts none of alice's sync states (a restored or repaired mailbox); a sync from the
    // start still works. Deletions made now can then only be found by comparing (exh_sync_item, deletions only).
    const since = Date.now();
    const fault = world.fault({ kind: 'invalidSyncState', mailbox: alice });
    const deleted = kinds.map((kind) => kept.find((item) => item.kind === kind) as MadeItem);
    for (const item of deleted) world.emulator.admin.deleteItem(alice, item.id);
    const made = kinds.map((kind) => world.make(alice, 'sync state', kind));
    const survivors = kept.filter((item) => !deleted.includes(item));

    const gone = await settle(
      () => stillThere(deleted),
      (left) => left.length === 0,
      20_000,
    );
    const result = await world.arrivals(alice, [...survivors, ...made]);
    const doneAt = Date.now();
    const rejected = world.requests(alice, since).filter((r) => r.responseCode === 'ErrorInvalidSyncStateData');
    const restarts = world.records.filter(
      (r) =>
        r.at >= since && r.user === alice && String(r.msg).includes('synchronising the folder again from the start'),
    );
    world.emulator.admin.faults.remove(fault.id);
    const after = world.make(alice, 'sync state after', 'Task');
    const live = await world.arrivals(alice, [after]);
    console.log(
      `fault: invalid sync state: ${restarts.length} folder syncs started again (${rejected.length} states refused), rows right ${seconds(doneAt - (rejected[0]?.at ?? since))} after the first refusal, ${result.arrived}/${result.total} items, ${deleted.length - gone.length}/${deleted.length} deletions, ${result.duplicates} duplicates`,
    );
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    expect(restarts.length).toBeGreaterThanOrEqual(1);
    expect(gone).toEqual([]);
    expect(result).toMatchObject({ arrived: survivors.length + made.length, duplicates: 0, missing: [] });
    expect(live).toMatchObject({ arrived: 1, duplicates: 0 });
    // No back-off: the refused sync starts the folder again at once.
    expect(world.records.some((r) => r.at >= since && r.event === 'mailbox.backingOff' && r.user === alice)).toBe(
      false,
    );
  }, 60_000);

  it('mailbox move: refused while it moves, back within one back-off of its end, everything made meanwhile arrives once', async () => {
    const moveMs = 4_000;
    const since = Date.now();
    // The move ends the mailbox's subscription, and every request for it is refused until the move is done.
    const move = world.fault({ kind: 'mailboxMove', mailbox: alice });
    world.emulator.admin.expireSubscriptions({ mailbox: alice });
    const making = world.keepMaking(alice, 'move', 200);
    const refused = await world.record(
      (r) => r.event === 'mailbox.backingOff' && r.user === alice && errorCode(r) === 'EXH_EXCHANGE_MAILBOX_MOVING',
      since,
      10_000,
    );
    await sleep(Math.max(0, since + moveMs - Date.now()));
    world.emulator.admin.faults.remove(move.id);
    const movedAt = Date.now();
    const live = await world.liveAt(alice, movedAt);
    const items = [...making.stop(), world.make(alice, 'move after', 'Task')];
    const result = await world.arrivals(alice, items);
    const refusals = world.requests(alice, since).filter((r) => r.fault === 'ErrorMailboxMoveInProgress').length;
    console.log(
      `fault: mailbox move of ${seconds(moveMs)}: ${refusals} requests refused, first at ${seconds(refused.at - since)}; live again ${seconds(live - movedAt)} after the move ended (offline ${seconds(live - since)}), ${result.arrived}/${result.total} items, ${result.duplicates} duplicates`,
    );
    expect(result).toMatchObject({ arrived: items.length, duplicates: 0, missing: [] });
    // Documented bound: the move, then at most the back-off in progress when it ended (≤ maxMs) and a catch-up.
    expect(live - movedAt).toBeLessThan(suiteBackoff.maxMs + 5_000);
    // Not a permanent error: never disabled however long it takes.
    expect(world.records.some((r) => r.at >= since && r.event === 'mailbox.disabled')).toBe(false);
  }, 60_000);

  it('permanent failure: disabled, in exh_log and on the dashboard; live again after re-registration once fixed', async () => {
    const since = Date.now();
    // The service account loses ApplicationImpersonation. A mailbox notices at its next request (a sync here),
    // fails twice in a row (retry.permanentFailures 2) and is disabled.
    world.emulator.admin.updateSettings({ impersonationAllowed: false });
    const items = [world.make(alice, 'denied', 'Task')];
    const disabled = await world.record((r) => r.event === 'mailbox.disabled' && r.user === alice, since, 15_000);
    expect(errorCode(disabled)).toBe('EXH_EXCHANGE_IMPERSONATION_DENIED');

    // recordDisabled writes the row as the mailbox enters `disabled`; it may land just after the E record.
    const exhLog = await waitForRows(
      `select exh_code, exh_message from ${world.schema}.exh_log where exh_user = $1 and exh_logged_at >= to_timestamp($2 / 1000.0)`,
      [alice, since - 1_000],
    );
    expect(exhLog).toEqual([
      expect.objectContaining({
        exh_code: 'EXH_EXCHANGE_IMPERSONATION_DENIED',
        exh_message: expect.stringContaining('Mailbox disabled until users are registered again'),
      }),
    ]);
    const shown = await mailboxOnDashboard(alice);
    expect(shown).toMatchObject({ state: 'disabled', lastError: { code: 'EXH_EXCHANGE_IMPERSONATION_DENIED' } });

    // Fixed in Exchange, and more made meanwhile: a disabled mailbox does not try again by itself.
    world.emulator.admin.updateSettings({ impersonationAllowed: true });
    for (const kind of kinds) items.push(world.make(alice, 'denied', kind));
    const quietFrom = Date.now();
    await sleep(2 * suiteBackoff.maxMs);
    expect(world.requests(alice, quietFrom)).toEqual([]);
    expect((await mailboxOnDashboard(alice)).state).toBe('disabled');

    // Re-registration, as the application asks for it (exh_sync_users → the outbox → users.sync).
    const reregistered = Date.now();
    await world.admin.query(`select * from ${world.schema}.exh_sync_users()`);
    const live = await world.liveAt(alice, reregistered, 20_000);
    items.push(world.make(alice, 'denied after', 'Task'));
    const result = await world.arrivals(alice, items);
    const status = await mailboxOnDashboard(alice);
    console.log(
      `fault: impersonation denied: disabled after ${seconds(disabled.at - since)}, ${exhLog.length} row in exh_log, dashboard state ${shown.state}; live ${seconds(live - reregistered)} after exh_sync_users (dashboard: ${status.state}), ${result.arrived}/${result.total} items, ${result.duplicates} duplicates`,
    );
    expect(status.state).toBe('live');
    expect(result).toMatchObject({ arrived: items.length, duplicates: 0, missing: [] });
  }, 60_000);

  it('permanent failure: a mailbox Exchange no longer has is disabled, and a recreated one is synchronised afresh', async () => {
    const old = [world.make(bob, 'old mailbox', 'Task'), world.make(bob, 'old mailbox', 'Contact')];
    expect((await world.arrivals(bob, old)).missing).toEqual([]);
    const since = Date.now();
    world.emulator.admin.removeMailbox(bob);
    const disabled = await world.record((r) => r.event === 'mailbox.disabled' && r.user === bob, since, 15_000);
    expect(errorCode(disabled)).toBe('EXH_EXCHANGE_MAILBOX_NOT_FOUND');
    const exhLog = await waitForRows(
      `select exh_code from ${world.schema}.exh_log where exh_user = $1 and exh_logged_at >= to_timestamp($2 / 1000.0)`,
      [bob, since - 1_000],
    );
    expect(exhLog).toEqual([{ exh_code: 'EXH_EXCHANGE_MAILBOX_NOT_FOUND' }]);
    expect(await mailboxOnDashboard(bob)).toMatchObject({ state: 'disabled' });

    // The mailbox is made again (empty: its items went with the old one), used, and users are registered again.
    world.emulator.admin.addMailbox(bob);
    const made = [world.make(bob, 'new mailbox', 'Task'), world.make(bob, 'new mailbox', 'CalendarItem')];
    const reregistered = Date.now();
    await world.admin.query(`select * from ${world.schema}.exh_sync_users()`);
    const live = await world.liveAt(bob, reregistered, 20_000);
    const result = await world.arrivals(bob, made);
    // The stored sync states were the old mailbox's: refused, read from the start, and the rows of items that
    // went with it compared away.
    const left = await settle(
      async () => [...(await world.rowsByMarker(bob)).keys()].filter((marker) => marker.startsWith('old mailbox')),
      (markers) => markers.length === 0,
      10_000,
    );
    console.log(
      `fault: mailbox not found: disabled after ${seconds(disabled.at - since)}, ${exhLog.length} row in exh_log; recreated and live ${seconds(live - reregistered)} after exh_sync_users, ${result.arrived}/${result.total} new items, ${result.duplicates} duplicates, ${old.length - left.length}/${old.length} rows of the old mailbox removed`,
    );
    expect(result).toMatchObject({ arrived: made.length, duplicates: 0, missing: [] });
    expect(left).toEqual([]);
    expect((await mailboxOnDashboard(bob)).state).toBe('live');
  }, 60_000);

  const waitForRows = (sql: string, values: unknown[]): Promise<Record<string, unknown>[]> =>
    settle(
      async () => (await world.admin.query(sql, values)).rows,
      (rows) => rows.length > 0,
      10_000,
    );

  async function mailboxOnDashboard(user: string): Promise<{ state: string; lastError: { code: string } | null }> {
    const response = await fetch(`${dashboard}/api/status`);
    expect(response.status).toBe(200);
    const status = (await response.json()) as {
      mailboxes: { list: Array<{ user: string; state: string; lastError: { code: string } | null }> };
    };
    const mailbox = status.mailboxes.list.find((m) => m.user === user);
    if (!mailbox) throw new Error(`${user} is not on the dashboard`);
    return mailbox;
  }
});

function errorCode(record: LogRecord): string | undefined {
  return (record.error as { code?: string } | undefined)?.code;
}
