import { describe, expect, it } from 'vitest';
import { EnvelopeSplitter } from '../../../src/exchange/ews/envelopes.js';

const envelope = (n: number, text = `event ${n}`) =>
  `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><m:Note>${text}</m:Note></soap11:Body></Envelope>`;

describe('EnvelopeSplitter', () => {
  it('hands over two envelopes that arrive in one chunk, in order', () => {
    const splitter = new EnvelopeSplitter();
    expect(splitter.push(Buffer.from(envelope(1) + envelope(2)))).toEqual([envelope(1), envelope(2)]);
    expect(splitter.pending).toBe(0);
  });

  it('joins one envelope split over three chunks', () => {
    const splitter = new EnvelopeSplitter();
    const bytes = Buffer.from(envelope(1));
    const cuts = [10, 80, bytes.length];
    const out: string[] = [];
    let from = 0;
    for (const cut of cuts) {
      out.push(...splitter.push(bytes.subarray(from, cut)));
      if (cut < bytes.length) expect(out).toEqual([]);
      from = cut;
    }
    expect(out).toEqual([envelope(1)]);
  });

  it('survives every possible cut, including one inside the opening and closing tags', () => {
    const whole = Buffer.from(`${envelope(1)}\r\n${envelope(2)}${envelope(3)}`);
    for (let cut = 1; cut < whole.length; cut++) {
      const splitter = new EnvelopeSplitter();
      const out = [...splitter.push(whole.subarray(0, cut)), ...splitter.push(whole.subarray(cut))];
      expect(out, `cut at ${cut}`).toEqual([envelope(1), envelope(2), envelope(3)]);
    }
  });

  it('keeps a multi-byte character that a chunk boundary cuts in two', () => {
    const text = envelope(1, 'Café ☕ 🎉');
    const bytes = Buffer.from(text);
    const inside = bytes.indexOf(Buffer.from('☕')) + 1;
    const splitter = new EnvelopeSplitter();
    expect([...splitter.push(bytes.subarray(0, inside)), ...splitter.push(bytes.subarray(inside))]).toEqual([text]);
  });

  it('accepts prefixed envelopes and drops what lies between envelopes', () => {
    const prefixed = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>';
    const splitter = new EnvelopeSplitter();
    expect(splitter.push(`<?xml version="1.0"?>\n${prefixed}  \n${envelope(2)}`)).toEqual([prefixed, envelope(2)]);
  });

  it('refuses an envelope that never ends past its limit', () => {
    const splitter = new EnvelopeSplitter(100);
    splitter.push('<Envelope>');
    expect(() => splitter.push('x'.repeat(200))).toThrow(/exceeds 100/);
  });
});
