import { describe, expect, it } from 'vitest';
import { LogHub } from '../../src/logging/log-hub.js';

type Received = { record: Record<string, unknown>; line: string };

function collect(hub: LogHub): { received: Received[]; unsubscribe: () => void } {
  const received: Received[] = [];
  const unsubscribe = hub.subscribe((record, line) => received.push({ record, line }));
  return { received, unsubscribe };
}

describe('LogHub', () => {
  it('delivers each record, parsed, with its line without the trailing newline', () => {
    const hub = new LogHub();
    const { received } = collect(hub);
    hub.write('{"cat":"A","msg":"one"}\n');
    hub.write('{"cat":"E","msg":"two"}');
    expect(received).toEqual([
      { record: { cat: 'A', msg: 'one' }, line: '{"cat":"A","msg":"one"}' },
      { record: { cat: 'E', msg: 'two' }, line: '{"cat":"E","msg":"two"}' },
    ]);
  });

  it('fans out to every subscriber and stops after unsubscribe', () => {
    const hub = new LogHub();
    const first = collect(hub);
    const second = collect(hub);
    expect(hub.subscriberCount).toBe(2);
    hub.write('{"n":1}\n');
    first.unsubscribe();
    first.unsubscribe();
    expect(hub.subscriberCount).toBe(1);
    hub.write('{"n":2}\n');
    expect(first.received.map((r) => r.record.n)).toEqual([1]);
    expect(second.received.map((r) => r.record.n)).toEqual([1, 2]);
  });

  it('keeps two subscriptions of the same function apart', () => {
    const hub = new LogHub();
    const seen: unknown[] = [];
    const listener = (record: Record<string, unknown>) => seen.push(record.n);
    const unsubscribeFirst = hub.subscribe(listener);
    hub.subscribe(listener);
    unsubscribeFirst();
    hub.write('{"n":1}\n');
    expect(seen).toEqual([1]);
    expect(hub.subscriberCount).toBe(1);
  });

  it('does not parse anything when nobody listens', () => {
    const hub = new LogHub();
    const original = JSON.parse;
    let parses = 0;
    JSON.parse = ((...args: Parameters<typeof JSON.parse>) => {
      parses++;
      return original(...args);
    }) as typeof JSON.parse;
    try {
      hub.write('{"cat":"M"}\n');
      const { unsubscribe } = collect(hub);
      unsubscribe();
      hub.write('{"cat":"M"}\n');
    } finally {
      JSON.parse = original;
    }
    expect(parses).toBe(0);
  });

  it('swallows malformed lines and non-object JSON', () => {
    const hub = new LogHub();
    const { received } = collect(hub);
    expect(() => {
      hub.write('not json\n');
      hub.write('');
      hub.write('[1,2]\n');
      hub.write('null\n');
      hub.write('"text"\n');
      hub.write('{"cut":');
    }).not.toThrow();
    hub.write('{"ok":true}\n');
    expect(received.map((r) => r.record)).toEqual([{ ok: true }]);
  });

  it('keeps delivering to others when a subscriber throws', () => {
    const hub = new LogHub();
    const before = collect(hub);
    hub.subscribe(() => {
      throw new Error('bad subscriber');
    });
    const after = collect(hub);
    expect(() => hub.write('{"n":1}\n')).not.toThrow();
    expect(before.received).toHaveLength(1);
    expect(after.received).toHaveLength(1);
  });

  it('lets a subscriber unsubscribe while a record is being delivered without others missing it', () => {
    const hub = new LogHub();
    const seen: string[] = [];
    const unsubscribeFirst = hub.subscribe(() => {
      seen.push('first');
      unsubscribeFirst();
    });
    hub.subscribe(() => seen.push('second'));
    hub.write('{"n":1}\n');
    hub.write('{"n":2}\n');
    expect(seen).toEqual(['first', 'second', 'second']);
  });
});
