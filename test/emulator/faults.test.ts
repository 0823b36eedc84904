import {
  EventType,
  Folder,
  FolderId,
  type ItemId,
  ItemView,
  PropertySet,
  SyncFolderItemsScope,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { Faults } from '../../emulator/faults.js';
import { AdminError } from '../../emulator/index.js';
import { SimulatedClock } from './support/clock.js';
import { errorCodeOf, ewsService, soap, startTestEmulator } from './support/harness.js';

const clock = new SimulatedClock();
const emulator = await startTestEmulator({ clock });
const alice = 'alice@contoso.test';
const service = ewsService(emulator, alice);
const bindInbox = () => Folder.Bind(service, WellKnownFolderName.Inbox);
const syncCalendar = (state: string | null) =>
  service.SyncFolderItems(
    new FolderId(WellKnownFolderName.Calendar),
    PropertySet.IdOnly,
    null as unknown as ItemId[],
    10,
    SyncFolderItemsScope.NormalItems,
    state as string,
  );

describe('Faults', () => {
  it('counts down `calls`, and applies `share` repeatably from its seed', () => {
    const faults = new Faults(7);
    faults.add({ kind: 'invalidSyncState', calls: 2 });
    const target = { operation: 'SyncFolderItems' };
    expect(
      [
        faults.take('invalidSyncState', target),
        faults.take('invalidSyncState', target),
        faults.take('invalidSyncState', target),
      ].map(Boolean),
    ).toEqual([true, true, false]);
    const hits = (seed: number) => {
      const shared = new Faults(seed);
      shared.add({ kind: 'serverBusy', share: 0.25 });
      return Array.from({ length: 400 }, () => shared.take('serverBusy', target) !== undefined);
    };
    expect(hits(3)).toEqual(hits(3));
    const count = hits(3).filter(Boolean).length;
    expect(count).toBeGreaterThan(60);
    expect(count).toBeLessThan(140);
  });

  it('refuses a fault it does not know', () => {
    expect(() => new Faults().add({ kind: 'meteorStrike' } as never)).toThrow();
  });
});

describe('faults through EWS', () => {
  it('throttles with ErrorServerBusy and BackOffMilliseconds for the next N calls of the chosen operations', async () => {
    emulator.admin.faults.add({ kind: 'serverBusy', backOffMs: 5000, calls: 2, operations: ['GetFolder'] });
    const failure = await bindInbox().catch((e: unknown) => e);
    expect((failure as { ErrorDetails: { get(k: string): string } }).ErrorDetails.get('BackOffMilliseconds')).toBe(
      '5000',
    );
    expect(await errorCodeOf(() => service.FindItems(WellKnownFolderName.Inbox, new ItemView(1)))).toBe('resolved');
    expect(await errorCodeOf(bindInbox)).toBe('ErrorServerBusy');
    expect(await errorCodeOf(bindInbox)).toBe('resolved');
  });

  it('answers with a bare HTTP 503 or 500 while switched on', async () => {
    const fault = emulator.admin.faults.add({ kind: 'httpStatus', status: 503 });
    const answer = await soap(
      emulator,
      '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>',
      { impersonate: alice },
    );
    expect(answer.status).toBe(503);
    expect(await errorCodeOf(bindInbox)).toBe('HTTP 503');
    emulator.admin.faults.remove(fault.id);
    expect(await errorCodeOf(bindInbox)).toBe('resolved');
  });

  it('adds latency: the answer waits for the delay it schedules', async () => {
    emulator.admin.faults.add({ kind: 'latency', ms: 150, calls: 1 });
    const mark = clock.mark();
    let answered = false;
    const call = bindInbox().then(() => {
      answered = true;
    });
    expect(await clock.next(mark)).toBe(150);
    expect(answered).toBe(false);
    clock.advance(150);
    await call;
    expect(answered).toBe(true);
  });

  it('refuses a fault for an operation or a mailbox that does not exist, naming it', () => {
    expect(() => emulator.admin.faults.add({ kind: 'serverBusy', operations: ['GetItm'] })).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringContaining('GetItm') }),
    );
    expect(() => emulator.admin.faults.add({ kind: 'mailboxMove', mailbox: 'ghost@contoso.test' })).toThrow(AdminError);
    expect(emulator.admin.faults.list()).toEqual([]);
  });

  it('makes a good sync state invalid once: ErrorInvalidSyncStateData', async () => {
    const good = (await syncCalendar(null)).SyncState;
    emulator.admin.faults.add({ kind: 'invalidSyncState', calls: 1 });
    expect(await errorCodeOf(() => syncCalendar(good))).toBe('ErrorInvalidSyncStateData');
    expect(await errorCodeOf(() => syncCalendar(good))).toBe('resolved');
  });

  it('rejects every sync state while switched on, never a sync from the beginning (the way back)', async () => {
    const good = (await syncCalendar(null)).SyncState;
    const fault = emulator.admin.faults.add({ kind: 'invalidSyncState', mailbox: alice });
    expect(await errorCodeOf(() => syncCalendar(good))).toBe('ErrorInvalidSyncStateData');
    const fresh = await syncCalendar(null);
    expect(await errorCodeOf(() => syncCalendar(fresh.SyncState))).toBe('ErrorInvalidSyncStateData');
    emulator.admin.faults.remove(fault.id);
    expect(await errorCodeOf(() => syncCalendar(good))).toBe('resolved');
  });

  it('makes a good watermark invalid once: ErrorInvalidWatermark', async () => {
    const subscription = await service.SubscribeToPullNotifications(
      [new FolderId(WellKnownFolderName.Calendar)],
      10,
      null as unknown as string,
      EventType.Created,
    );
    emulator.admin.faults.add({ kind: 'invalidWatermark', calls: 1 });
    expect(await errorCodeOf(() => subscription.GetEvents())).toBe('ErrorInvalidWatermark');
    expect(await errorCodeOf(() => subscription.GetEvents())).toBe('resolved');
  });

  it('reports a mailbox move in progress for that mailbox only', async () => {
    const fault = emulator.admin.faults.add({ kind: 'mailboxMove', mailbox: alice });
    expect(await errorCodeOf(bindInbox)).toBe('ErrorMailboxMoveInProgress');
    expect(
      await errorCodeOf(() => Folder.Bind(ewsService(emulator, 'bob@contoso.test'), WellKnownFolderName.Inbox)),
    ).toBe('resolved');
    emulator.admin.faults.remove(fault.id);
    expect(await errorCodeOf(bindInbox)).toBe('resolved');
  });
});
