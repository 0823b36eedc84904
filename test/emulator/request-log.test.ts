import {
  Folder,
  FolderId,
  type ItemId,
  PropertySet,
  SyncFolderItemsScope,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { beforeEach, describe, expect, it } from 'vitest';
import { RequestLog } from '../../emulator/request-log.js';
import { SimulatedClock } from './support/clock.js';
import { adminCall, errorCodeOf, ewsService, soap, startTestEmulator } from './support/harness.js';

const clock = new SimulatedClock();
const emulator = await startTestEmulator({ clock, mailboxes: ['alice@contoso.test', 'bob@contoso.test'] });
const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';
const bindInbox = (user: string) => Folder.Bind(ewsService(emulator, user), WellKnownFolderName.Inbox);

describe('RequestLog', () => {
  it('keeps the newest `limit` entries, oldest first', () => {
    const log = new RequestLog(3);
    for (let at = 1; at <= 10; at++)
      log.add({ at, answeredAt: at, operation: 'GetFolder', account: 'a', mailbox: 'm', status: 200 });
    expect(log.list().map((entry) => entry.at)).toEqual([8, 9, 10]);
    expect(log.list({ since: 9 }).map((entry) => entry.at)).toEqual([9, 10]);
  });
});

describe('the request log through EWS', () => {
  // Each test starts later than the last one's requests, so `since` sees only its own.
  beforeEach(() => clock.advance(1000));

  it('records each request with its arrival, answer, mailbox, status and SOAP fault code', async () => {
    const since = clock.now();
    emulator.admin.faults.add({ kind: 'serverBusy', backOffMs: 4000, calls: 1, mailbox: alice });
    expect(await errorCodeOf(() => bindInbox(alice))).toBe('ErrorServerBusy');
    clock.advance(1500);
    emulator.admin.faults.add({ kind: 'httpStatus', status: 503, calls: 1, mailbox: alice });
    expect(await errorCodeOf(() => bindInbox(alice))).toBe('HTTP 503');
    clock.advance(3000);
    expect(await errorCodeOf(() => bindInbox(alice))).toBe('resolved');
    expect(await errorCodeOf(() => bindInbox(bob))).toBe('resolved');

    const mine = emulator.admin.requests({ mailbox: alice, since });
    expect(mine).toEqual([
      expect.objectContaining({ at: since, operation: 'GetFolder', status: 500, fault: 'ErrorServerBusy' }),
      expect.objectContaining({ at: since + 1500, operation: 'GetFolder', status: 503 }),
      expect.objectContaining({ at: since + 4500, operation: 'GetFolder', status: 200 }),
    ]);
    expect(mine[2]).not.toHaveProperty('fault');
    expect(mine.every((entry) => entry.mailbox === alice && entry.account === emulator.serviceAccount)).toBe(true);
    // The mailbox filter ignores case, as addresses do.
    expect(emulator.admin.requests({ mailbox: 'ALICE@contoso.test', since })).toHaveLength(3);
    expect(emulator.admin.requests({ mailbox: bob, since })).toHaveLength(1);
  });

  it('times the answer, not only the arrival: a latency fault shows between the two', async () => {
    const since = clock.now();
    emulator.admin.faults.add({ kind: 'latency', ms: 700, calls: 1, mailbox: bob });
    const mark = clock.mark();
    const call = bindInbox(bob);
    expect(await clock.next(mark)).toBe(700);
    clock.advance(700);
    await call;
    const [entry] = emulator.admin.requests({ mailbox: bob, since });
    expect(entry).toMatchObject({ at: since, answeredAt: since + 700, status: 200 });
  });

  it('records the response code of a failed response message in a 200 answer', async () => {
    const service = ewsService(emulator, alice);
    const sync = (state: string | null) =>
      service.SyncFolderItems(
        new FolderId(WellKnownFolderName.Tasks),
        PropertySet.IdOnly,
        null as unknown as ItemId[],
        10,
        SyncFolderItemsScope.NormalItems,
        state as string,
      );
    const good = (await sync(null)).SyncState;
    clock.advance(1000);
    const since = clock.now();
    emulator.admin.faults.add({ kind: 'invalidSyncState', calls: 1, mailbox: alice });
    expect(await errorCodeOf(() => sync(good))).toBe('ErrorInvalidSyncStateData');
    await sync(good);
    const logged = emulator.admin.requests({ mailbox: alice, operation: 'SyncFolderItems', since });
    expect(logged).toEqual([
      expect.objectContaining({ status: 200, responseCode: 'ErrorInvalidSyncStateData' }),
      expect.objectContaining({ status: 200 }),
    ]);
    expect(logged[1]).not.toHaveProperty('responseCode');
    expect(logged[0]).not.toHaveProperty('fault');
  });

  it('records a request that never reached a mailbox without one, and serves the log over HTTP', async () => {
    const since = clock.now();
    const garbage = await soap(emulator, '<m:NoSuchThing/>', { impersonate: alice });
    expect(garbage.status).toBe(500);
    const logged = emulator.admin.requests({ since });
    expect(logged).toEqual([expect.objectContaining({ operation: 'NoSuchThing', fault: 'ErrorInvalidRequest' })]);
    expect(logged[0]).not.toHaveProperty('mailbox');

    await bindInbox(alice);
    const answer = await adminCall(emulator, 'GET', `/requests?mailbox=${encodeURIComponent(alice)}&since=${since}`);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual([expect.objectContaining({ operation: 'GetFolder', mailbox: alice, status: 200 })]);
    expect((await adminCall(emulator, 'GET', '/requests?since=soon')).status).toBe(400);
  });
});
