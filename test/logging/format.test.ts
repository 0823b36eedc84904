import { describe, expect, it } from 'vitest';
import { formatRecord, recordCategory } from '../../src/logging/format.js';

const time = '2026-11-25T09:30:00.123Z';

describe('formatRecord', () => {
  it('starts with the category letter and the time, then bindings and message', () => {
    const line = formatRecord({
      level: 35,
      cat: 'A',
      time,
      msg: 'subscribed',
      actor: 'mailbox',
      user: 'alice@contoso.test',
      itemType: 'calendar',
      pid: 42,
      hostname: 'srv',
    });
    expect(line).toBe('A 2026-11-25 09:30:00.123 [mailbox alice@contoso.test calendar] subscribed');
  });

  it('puts only the bindings present in the brackets, in a fixed order', () => {
    expect(formatRecord({ cat: 'M', time, msg: 'hi', user: 'bob', actor: 'pool' })).toBe(
      'M 2026-11-25 09:30:00.123 [pool bob] hi',
    );
    expect(formatRecord({ cat: 'M', time, msg: 'hi' })).toBe('M 2026-11-25 09:30:00.123 hi');
  });

  it('shows other keys as key=value, quoting strings only when needed and objects as JSON', () => {
    const line = formatRecord({
      cat: 'W',
      time,
      msg: 'slow',
      count: 3,
      ok: false,
      nothing: null,
      folder: 'Inbox',
      subject: 'Team "sync" meeting',
      empty: '',
      details: { a: 1, b: ['x'] },
    });
    expect(line).toBe(
      'W 2026-11-25 09:30:00.123 slow count=3 ok=false nothing=null folder=Inbox ' +
        'subject="Team \\"sync\\" meeting" empty="" details={"a":1,"b":["x"]}',
    );
  });

  it('shows the error code and message but not the stack', () => {
    const line = formatRecord({
      cat: 'E',
      time,
      msg: 'database lost',
      err: {
        type: 'Error',
        message: 'read ECONNRESET',
        stack: 'Error: read ECONNRESET\n    at x.js:1',
        code: 'ECONNRESET',
      },
    });
    expect(line).toBe('E 2026-11-25 09:30:00.123 database lost err.code=ECONNRESET err.message="read ECONNRESET"');
    expect(line).not.toContain('x.js');
  });

  it('shows an err without code or message as JSON without its stack, and a plain err as a value', () => {
    expect(formatRecord({ cat: 'E', time, err: { type: 'Odd', stack: 'at y.js' } })).toBe(
      'E 2026-11-25 09:30:00.123 err={"type":"Odd"}',
    );
    expect(formatRecord({ cat: 'E', time, err: 'boom' })).toBe('E 2026-11-25 09:30:00.123 err=boom');
  });

  it('escapes control characters so a crafted value cannot start a fake line', () => {
    const subject = 'Hi\r\nE 2026-11-25 09:30:00.000 [mailbox root] fake\u001b[2J';
    const line = formatRecord({ cat: 'A', time, msg: `synced ${subject}`, user: 'eve\nx', subject });
    expect(line).not.toMatch(/[\r\n]/);
    expect(line).not.toContain('\u001b');
    expect(line).toBe(
      'A 2026-11-25 09:30:00.123 [eve\\nx] synced Hi\\r\\nE 2026-11-25 09:30:00.000 [mailbox root] fake\\u001b[2J ' +
        'subject="Hi\\r\\nE 2026-11-25 09:30:00.000 [mailbox root] fake\\u001b[2J"',
    );
  });

  it('escapes C1 controls and Unicode line separators too, also in keys and unquoted values', () => {
    const line = formatRecord({ cat: 'M', time, 'k\ney': 'a\u2028b', csi: 'x\u009by\u007f' });
    expect(line).toBe('M 2026-11-25 09:30:00.123 k\\ney="a\\u2028b" csi=x\\u009by\\u007f');
  });

  it('accepts epoch-millisecond times and keeps unparseable ones visible', () => {
    expect(formatRecord({ cat: 'M', time: Date.UTC(2026, 10, 25, 9, 30, 0, 123), msg: 'x' })).toBe(
      'M 2026-11-25 09:30:00.123 x',
    );
    expect(formatRecord({ cat: 'M', time: 'yesterday', msg: 'x' })).toBe('M yesterday x');
    expect(formatRecord({ cat: 'M', msg: 'x' })).toBe('M - x');
  });

  it('never throws on garbage and still starts with a category letter', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const hostile = {
      cat: 'A',
      get msg(): string {
        throw new Error('getter');
      },
    };
    const garbage: unknown[] = [
      {},
      null,
      undefined,
      42,
      'text',
      [],
      { cat: 'X', level: 'high', time: {}, msg: { nested: true } },
      { cat: 'E', big: 10n, sym: Symbol('s'), fn: () => 1, cyclic },
      { err: null },
      {
        err: {
          toJSON: () => {
            throw new Error('no');
          },
        },
      },
      hostile,
    ];
    for (const record of garbage) {
      const line = formatRecord(record as Record<string, unknown>);
      expect(typeof line).toBe('string');
      expect(line).toMatch(/^[EWAM] /);
      expect(line).not.toMatch(/[\r\n]/);
    }
    expect(formatRecord({ cat: 'E', big: 10n, cyclic })).toBe('E - big=10 cyclic=[unserializable]');
  });
});

describe('recordCategory', () => {
  it('uses cat when it is a known letter and falls back to M', () => {
    expect(recordCategory({ cat: 'E' })).toBe('E');
    expect(recordCategory({ cat: 'W' })).toBe('W');
    expect(recordCategory({ cat: 'x' })).toBe('M');
    expect(recordCategory({})).toBe('M');
  });
});
