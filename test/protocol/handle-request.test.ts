import { afterEach, describe, expect, it, vi } from 'vitest';
import { errors } from '../../src/errors.js';
import { Connections } from '../../src/mailbox/connections.js';
import type {
  ControlPort,
  SyncItemsOutcome,
  SyncItemsProgress,
  SyncItemsRequest,
} from '../../src/ports/control.port.js';
import type { DatabasePort } from '../../src/ports/database.port.js';
import type { CallOptions } from '../../src/ports/exchange.port.js';
import {
  createRequestHandler,
  progressHeartbeatMs,
  type RequestHandlerDeps,
} from '../../src/protocol/handle-request.js';
import type { DatabaseRequest } from '../../src/protocol/messages.js';
import { parseRequest } from '../../src/protocol/messages.js';
import { recordingLogger } from './helpers.js';

const alice = 'alice@contoso.test';

/** A request as the listener hands it over: validated by the protocol's schema. */
function request(value: Record<string, unknown>): DatabaseRequest {
  const parsed = parseRequest(value);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.request;
}

/** The handler over a control and a connected writer the test scripts; only alice is registered. */
function handler(overrides: Partial<RequestHandlerDeps> = {}) {
  const controlCalls: string[] = [];
  const control: ControlPort = {
    syncUsers: () => void controlCalls.push('syncUsers'),
    syncItems: async () => ({ added: 0, changed: 0, deleted: 0, failed: 0 }),
    retryFailed: async () => ({ retried: 0, rereading: [] }),
  };
  const progress: Array<Record<string, unknown>> = [];
  const handle = createRequestHandler({
    db: {} as DatabasePort,
    connections: new Connections(),
    control,
    isRegistered: (user) => user.toLowerCase() === alice,
    logger: recordingLogger().logger,
    ...overrides,
  });
  const answer = (value: Record<string, unknown>) =>
    handle(request(value), { remoteAddress: '127.0.0.1', progress: (line) => void progress.push(line) });
  return { answer, controlCalls, progress, control };
}

/** A connected mailbox whose writer answers attachments (only identity and these methods matter here). */
function connectedWriter(writer: Record<string, unknown>) {
  const connections = new Connections();
  connections.set(alice, {
    endpoint: 'https://mail.contoso.test/EWS',
    capabilities: { writes: true },
    createItem: async () => ({}),
    ...writer,
  } as never);
  return connections;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createRequestHandler', () => {
  it('answers ping, and passes syncUsers to the ControlPort', async () => {
    const { answer, controlCalls } = handler();
    expect(await answer({ type: 'ping' })).toEqual({ exitCode: 0, outputValue: 'pong', errorMessage: null });
    expect(await answer({ type: 'syncUsers' })).toEqual({ exitCode: 0, outputValue: null, errorMessage: null });
    expect(controlCalls).toEqual(['syncUsers']);
  });

  it('gives the ControlPort the request as messages.ts reads it, and the outcome as JSON', async () => {
    const asked: SyncItemsRequest[] = [];
    const control: ControlPort = {
      ...handler().control,
      syncItems: async (sync) => {
        asked.push(sync);
        return { added: 1, changed: 2, deleted: 3, failed: 0 };
      },
    };
    const { answer } = handler({ control });
    const reply = await answer({ type: 'syncItems', direction: 1, user: alice, item: 3, createdFrom: '2026-01-01' });
    expect(reply).toEqual({
      exitCode: 0,
      outputValue: '{"added":1,"changed":2,"deleted":3,"failed":0}',
      errorMessage: null,
    });
    expect(asked).toEqual([
      {
        direction: 1,
        user: alice,
        itemType: 'task',
        add: true,
        chg: true,
        del: false,
        created: { from: new Date('2026-01-01T00:00:00Z') },
      },
    ]);
  });

  it('answers a failed resync with the exit code of its error', async () => {
    const control: ControlPort = {
      ...handler().control,
      syncItems: async (sync) => {
        throw errors.mailboxNotConnected(sync.user ?? '');
      },
    };
    const reply = await handler({ control }).answer({ type: 'syncItems', direction: 0, user: alice });
    expect(reply).toMatchObject({ exitCode: 522, errorMessage: expect.stringContaining('not connected') });
  });

  it('sends progress at most once a second, the last again every 10 s while nothing moves, and the end at once', async () => {
    vi.useFakeTimers();
    let report!: (progress: SyncItemsProgress) => void;
    let finish!: (outcome: SyncItemsOutcome) => void;
    const control: ControlPort = {
      ...handler().control,
      syncItems: (_sync, onProgress) => {
        report = (progress) => onProgress?.(progress);
        return new Promise((resolve) => {
          finish = resolve;
        });
      },
    };
    const { answer, progress } = handler({ control });
    const reply = answer({ type: 'syncItems', direction: 0, user: alice, item: 3, progress: true });
    const at = (done: number, total: number | null = 10) => ({ user: alice, itemType: 'task' as const, done, total });

    report(at(1));
    await vi.advanceTimersByTimeAsync(500);
    report(at(2));
    expect(progress).toEqual([at(1)]);
    await vi.advanceTimersByTimeAsync(1_000);
    report(at(3));
    expect(progress).toEqual([at(1), at(3)]);
    // Nothing moves: the heartbeat repeats the last line once 10 s have passed since it was sent.
    await vi.advanceTimersByTimeAsync(progressHeartbeatMs - 1_500);
    expect(progress).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(progressHeartbeatMs);
    expect(progress).toEqual([at(1), at(3), at(3)]);
    report(at(10));
    expect(progress.at(-1)).toEqual(at(10));
    finish({ added: 10, changed: 0, deleted: 0, failed: 0 });
    expect(await reply).toMatchObject({ exitCode: 0 });
    // The heartbeat ends with the request.
    await vi.advanceTimersByTimeAsync(5 * progressHeartbeatMs);
    expect(progress).toHaveLength(4);
  });

  it('refuses writes for an unregistered user (1) and asks to try later while the mailbox is not connected (522)', async () => {
    const { answer } = handler();
    const writes = (user: string) => [
      { type: 'item', action: 'chg', itemType: 'email', user, fields: { item_id: 'AAMk1' } },
      { type: 'getAttachment', user, itemId: 'AAMk1', attachmentId: 'AAMkA1' },
      { type: 'addAttachment', user, itemId: 'AAMk1', name: 'a.txt', contentBase64: 'aGk=' },
    ];
    for (const write of writes('mallory@contoso.test')) {
      expect(await answer(write)).toEqual({
        exitCode: 1,
        outputValue: null,
        errorMessage: errors.mailboxUnknown('mallory@contoso.test').message,
      });
    }
    for (const write of writes('Alice@Contoso.test')) {
      expect(await answer(write)).toMatchObject({
        exitCode: 522,
        errorMessage: expect.stringContaining('not connected'),
      });
    }
  });

  it('asks a sender to try again (522), writing nothing, when this instance’s lease of the user ended (several instances)', async () => {
    let held = true;
    let looks = 0;
    const written: string[] = [];
    const connections = connectedWriter({
      findByAppItemId: async () => {
        // The lease ends while Exchange answers the first look for an earlier attempt's item.
        if (looks++ === 0) held = false;
        return null;
      },
      createItem: async () => {
        written.push('createItem');
        return { itemId: 'AAMk2', changeKey: null };
      },
    });
    const { answer } = handler({
      connections,
      db: { rememberMeetings: async () => {}, rememberItemVersion: async () => {} } as unknown as DatabasePort,
      lease: { instanceId: 'exh-a', owns: () => held },
    });
    const reply = await answer({
      type: 'item',
      action: 'add',
      itemType: 'task',
      user: alice,
      fields: { app_item_id: 'app-1', subject: 'Call back' },
    });
    expect(reply).toMatchObject({ exitCode: 522, errorMessage: expect.stringContaining('exh-a no longer holds') });
    expect(written).toEqual([]);
    held = true;
    expect(
      await answer({
        type: 'item',
        action: 'add',
        itemType: 'task',
        user: alice,
        fields: { app_item_id: 'app-1', subject: 'Call back' },
      }),
    ).toMatchObject({ exitCode: 0, outputValue: 'AAMk2' });
    expect(written).toEqual(['createItem']);
  });

  it('asks a sender to try again (522) for an attachment when this instance’s lease of the user ended', async () => {
    let held = false;
    const sent: string[] = [];
    const connections = connectedWriter({
      // As the adapters do (through the Exchange pool): mayStart is asked as the request leaves.
      addAttachment: async (_itemId: string, attachment: { name: string }, options: CallOptions) => {
        options.mayStart?.();
        sent.push(attachment.name);
        return { attachmentId: 'AAMkA2' };
      },
    });
    const { answer } = handler({ connections, lease: { instanceId: 'exh-a', owns: () => held } });
    const add = { type: 'addAttachment', user: alice, itemId: 'AAMk1', name: 'a.txt', contentBase64: 'aGk=' };
    expect(await answer(add)).toMatchObject({
      exitCode: 522,
      errorMessage: expect.stringContaining('exh-a no longer holds'),
    });
    expect(sent).toEqual([]);
    held = true;
    expect(await answer(add)).toMatchObject({ exitCode: 0, outputValue: 'AAMkA2' });
    expect(sent).toEqual(['a.txt']);
  });

  it("adds and fetches attachments through the mailbox's writer, within the size limit", async () => {
    const calls: unknown[] = [];
    const connections = connectedWriter({
      addAttachment: async (itemId: string, attachment: { name: string; content: Buffer }) => {
        calls.push({ itemId, name: attachment.name, content: attachment.content.toString('utf8') });
        return { attachmentId: 'AAMkA2' };
      },
      getAttachment: async (_itemId: string, attachmentId: string, options: { maxBytes: number }) => {
        if (attachmentId === 'big') throw errors.attachmentTooLarge(alice, attachmentId, 20, options.maxBytes);
        return { content: Buffer.from('hello') };
      },
    });
    const { answer } = handler({ connections, maxAttachmentBytes: 10 });
    const added = await answer({
      type: 'addAttachment',
      user: alice,
      itemId: 'I1',
      name: 'a.txt',
      contentBase64: 'aGk=',
    });
    expect(added).toEqual({ exitCode: 0, outputValue: 'AAMkA2', errorMessage: null });
    expect(calls).toEqual([{ itemId: 'I1', name: 'a.txt', content: 'hi' }]);
    const fetched = await answer({ type: 'getAttachment', user: alice, itemId: 'I1', attachmentId: 'A1' });
    expect(fetched).toEqual({ exitCode: 0, outputValue: Buffer.from('hello').toString('base64'), errorMessage: null });
    const tooLarge = await answer({ type: 'getAttachment', user: alice, itemId: 'I1', attachmentId: 'big' });
    expect(tooLarge).toMatchObject({ exitCode: 1, errorMessage: expect.stringContaining('more than the limit of 10') });
  });
});
