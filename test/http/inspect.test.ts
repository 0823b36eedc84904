import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allLive, type RunningConnector, startConnector } from './connector.js';

interface InspectEvent {
  type: string;
  sessionId: string;
  name?: string;
  definition?: string;
  snapshot?: { value?: unknown };
  _version: string;
}

/** exh start --inspect: xstate's inspection events in the @statelyai/inspect format, over SSE. */
describe('inspection stream (--inspect)', () => {
  let connector: RunningConnector;

  beforeAll(async () => {
    connector = await startConnector({ adminToken: 'inspect-admin-token-123' }, { inspect: true });
    await allLive(connector);
  }, 60_000);

  afterAll(async () => {
    await connector?.stop();
  });

  it('first describes every running actor, then streams events and snapshots as they happen', async () => {
    const controller = new AbortController();
    const response = await fetch(`${connector.url}/api/inspect`, { signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const events: InspectEvent[] = [];
    let buffer = '';
    let asked = false;
    while (!events.some((event) => event.type === '@xstate.snapshot')) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += new TextDecoder().decode(value);
      const blocks = buffer.split('\n\n');
      buffer = blocks.pop() ?? '';
      for (const block of blocks) {
        const data = block.split('\n').find((line) => line.startsWith('data: '));
        if (data) events.push(JSON.parse(data.slice(6)));
      }
      // Once the running actors are described, make something happen.
      if (!asked && events.some((event) => event.name === 'itemType:calendar')) {
        asked = true;
        connector.runtime.control.syncUsers();
      }
    }
    controller.abort();
    const actors = events.filter((event) => event.type === '@xstate.actor');
    expect(actors.map((event) => event.name)).toEqual(
      expect.arrayContaining(['database', 'mailboxes', 'mailbox:alice@contoso.test', 'itemType:calendar']),
    );
    const mailbox = actors.find((event) => event.name === 'mailbox:alice@contoso.test');
    expect(mailbox?._version).toBe('1.0.0');
    expect(JSON.parse(mailbox?.definition ?? '{}')).toMatchObject({ id: 'mailbox' });
    expect(mailbox?.snapshot?.value).toEqual({ connected: 'live' });
    expect(events.some((event) => event.type === '@xstate.event')).toBe(true);
    expect(events.find((event) => event.type === '@xstate.snapshot')?.sessionId).toEqual(expect.any(String));
  });
});
