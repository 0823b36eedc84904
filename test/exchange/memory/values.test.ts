import { describe, expect, it } from 'vitest';
import type { Properties } from '../../../src/exchange/memory/store.js';
import { applyWrite, htmlToText, InvalidValue, prepareWrite, textToHtml } from '../../../src/exchange/memory/values.js';

/** The in-memory Exchange's write rules (the port's: null unchanged, '' removed, unknown ignored, bad refused). */
describe('prepareWrite / applyWrite', () => {
  it('leaves a property alone for null, removes it for empty text, and reports what changed', () => {
    const stored: Properties = { subject: 'Old', location: 'Room 1', body: 'Notes', bodyType: 'Text' };
    const changed = applyWrite(stored, prepareWrite({ subject: 'New', location: '', body: null }));
    expect(stored).toEqual({ subject: 'New', body: 'Notes', bodyType: 'Text' });
    expect(changed).toEqual(['subject', 'location']);
    expect(applyWrite(stored, prepareWrite({ subject: 'New' }))).toEqual([]);
  });

  it('converts to the port’s conventions: ISO times, dates, lists, numbers, booleans, codes in their spelling', () => {
    const prepared = Object.fromEntries(
      prepareWrite({
        start: new Date('2026-03-02T09:00:00Z'),
        dueDate: '2026-03-06 17:00:00Z',
        birthday: '1964-02-23',
        to: 'a@x.test; b@x.test,',
        categories: ';',
        percentComplete: '49.6',
        isAllDay: 'yes',
        importance: 'high',
        freeBusy: 'oof',
      }),
    );
    expect(prepared).toEqual({
      start: '2026-03-02T09:00:00.000Z',
      dueDate: '2026-03-06T17:00:00.000Z',
      birthday: '1964-02-23',
      to: ['a@x.test', 'b@x.test'],
      categories: null,
      percentComplete: 50,
      isAllDay: true,
      importance: 'High',
      freeBusy: 'OOF',
    });
  });

  it('ignores read-only and unknown properties, and keeps a start or end that is cleared', () => {
    expect(
      prepareWrite({ created: '2020-01-01', organizer: 'x@y', appItemId: 'a', nonsense: 'x', start: '' } as never),
    ).toEqual([]);
  });

  it('gives a body without a type the type it looks like', () => {
    expect(prepareWrite({ body: '<p>Hi</p>' })).toContainEqual(['bodyType', 'HTML']);
    expect(prepareWrite({ body: 'Hi <you>' })).toContainEqual(['bodyType', 'HTML']);
    expect(prepareWrite({ body: 'Hi you' })).toContainEqual(['bodyType', 'Text']);
    expect(prepareWrite({ body: 'Hi', bodyType: 'html' })).toEqual([
      ['body', 'Hi'],
      ['bodyType', 'HTML'],
    ]);
  });

  it('refuses a value it cannot take, naming the caller’s label', () => {
    expect(() => prepareWrite({ start: 'soon' }, { start: 'exh_start' })).toThrow(InvalidValue);
    expect(() => prepareWrite({ start: 'soon' }, { start: 'exh_start' })).toThrow(/^exh_start: "soon" is not a date/);
    expect(() => prepareWrite({ status: 'Done' })).toThrow(/status: "Done" is not one of NotStarted, InProgress/);
    expect(() => prepareWrite({ reminderSet: 'maybe' })).toThrow(/not true or false/);
  });
});

describe('body conversion', () => {
  it('turns text into HTML and back', () => {
    const html = textToHtml('a < b & c\nline two');
    expect(html).toBe('<html><body>a &lt; b &amp; c<br>line two</body></html>');
    expect(htmlToText(html)).toBe('a < b & c\nline two');
    expect(htmlToText('<style>p{}</style><p>One</p><div>Two&nbsp;</div>')).toBe('One\nTwo');
  });
});
