import { describe, expect, it } from 'vitest';
import { calendar } from '../../../src/items/calendar.js';
import { email } from '../../../src/items/email.js';
import type { ExchangeItem } from '../../../src/ports/exchange.port.js';
import { planPage } from '../../../src/sync/decisions/plan.js';
import { decodeLegacySeries, decodeWatermark, encodeWatermark } from '../../../src/sync/decisions/watermark.js';

const message = (id: string, itemClass = 'IPM.Note', properties: ExchangeItem['properties'] = {}): ExchangeItem => ({
  id,
  changeKey: `ck-${id}`,
  itemClass,
  properties: { subject: `subject of ${id}`, ...properties },
});

const inbox = {
  user: 'alice@contoso.test',
  folder: 'inbox' as const,
  maxBodyLength: 0,
  meetingRequestsResponses: false,
};

describe('planPage', () => {
  it('turns creates, updates and deletes into add, chg and del of exh_from_exh_*', () => {
    const plan = planPage(
      email,
      {
        changes: [
          { type: 'create', item: message('AAA=') },
          { type: 'update', item: message('BBB=') },
          { type: 'delete', itemId: 'CCC=' },
        ],
        continuation: 's1',
        done: true,
      },
      inbox,
    );
    expect(plan.changes.map((c) => [c.action, c.fields.item_id])).toEqual([
      ['add', 'AAA='],
      ['chg', 'BBB='],
      ['del', 'CCC='],
    ]);
    expect(plan.changes[2]?.fields).toEqual({ app_item_id: null, item_id: 'CCC=', user: 'alice@contoso.test' });
    expect(plan.changes[0]?.fields).toMatchObject({
      user: 'alice@contoso.test',
      direction: 'incoming',
      folder: 'Inbox',
    });
  });

  it('skips meeting requests unless sync.meetingRequestsResponses, and says how many it skipped', () => {
    const page = {
      changes: [
        { type: 'create' as const, item: message('M1=', 'IPM.Schedule.Meeting.Request') },
        { type: 'create' as const, item: message('M2=', 'IPM.Schedule.Meeting.Resp.Pos') },
        // A subclass of e-mail (signed, encrypted) is e-mail; a sticky note in the Inbox is not.
        { type: 'create' as const, item: message('S1=', 'IPM.Note.SMIME') },
        { type: 'create' as const, item: message('N1=', 'IPM.StickyNote') },
      ],
      continuation: 's',
      done: true,
    };
    expect(planPage(email, page, inbox)).toMatchObject({
      changes: [{ action: 'add', fields: expect.objectContaining({ item_id: 'S1=' }) }],
      skipped: 3,
    });
    expect(
      planPage(email, page, { ...inbox, meetingRequestsResponses: true }).changes.map((c) => c.fields.item_id),
    ).toEqual(['M1=', 'M2=', 'S1=']);
  });

  it('marks outgoing mail from Sent Items and cuts bodies to maxBodyLength, naming the items it cut', () => {
    const long = message('L1=', 'IPM.Note', { body: 'x'.repeat(50), bodyType: 'Text' });
    const plan = planPage(
      email,
      { changes: [{ type: 'create', item: long }], continuation: 's', done: true },
      { ...inbox, folder: 'sentitems', maxBodyLength: 10 },
    );
    expect(plan.changes[0]?.fields).toMatchObject({ direction: 'outgoing', folder: 'Sent Items', body: 'xxxxxxxxxx' });
    expect(plan.truncated).toEqual(['L1=']);
  });

  it('maps the occurrences the adapter reports after their master as items of their own, new ones added, known ones changed', () => {
    const master = message('R=', 'IPM.Appointment', {
      isRecurring: true,
      start: '2026-01-05T09:00:00Z',
      originalStart: null,
    });
    const occurrence = (id: string) =>
      message(id, 'IPM.Appointment', { isRecurring: true, originalStart: '2026-01-12T09:00:00Z' });
    const plan = planPage(
      calendar,
      {
        changes: [
          { type: 'update', item: master },
          { type: 'delete', itemId: 'R2=' },
          { type: 'update', item: occurrence('R1=') },
          { type: 'create', item: occurrence('R3=') },
        ],
        continuation: 's',
        done: true,
      },
      { ...inbox, folder: 'calendar' },
    );
    expect(plan.changes.map((c) => [c.action, c.fields.item_id])).toEqual([
      ['chg', 'R='],
      ['del', 'R2='],
      ['chg', 'R1='],
      ['add', 'R3='],
    ]);
    expect(plan.changes[3]?.fields.occurrence_original_start).toEqual(new Date('2026-01-12T09:00:00Z'));
    expect(plan.changes[0]?.fields.occurrence_original_start).toBeNull();
  });

  it('passes items Exchange would not give on to be recorded, instead of dropping them', () => {
    const plan = planPage(
      calendar,
      {
        changes: [
          {
            type: 'unreadable',
            itemId: 'X=',
            error: { code: 'EXH_EXCHANGE_REQUEST_FAILED', message: 'ErrorCorruptData' },
          },
        ],
        continuation: 's',
        done: true,
      },
      { ...inbox, folder: 'calendar' },
    );
    expect(plan.changes).toEqual([]);
    expect(plan.unreadable).toEqual([
      { itemId: 'X=', code: 'EXH_EXCHANGE_REQUEST_FAILED', message: 'ErrorCorruptData' },
    ]);
  });
});

describe('watermarks', () => {
  it('round-trip every folder state, in a stable order, and read garbage as "from the beginning"', () => {
    const text = encodeWatermark({ sentitems: 'b', inbox: 'a' });
    expect(text).toBe('{"inbox":"a","sentitems":"b"}');
    expect(decodeWatermark(text)).toEqual({ inbox: 'a', sentitems: 'b' });
    for (const garbage of [null, '', 'not json', '[1]', '{"inbox":5}']) expect(decodeWatermark(garbage)).toEqual({});
  });

  it('read the occurrence ids of each series that a watermark of the earlier format carries beside the folder states', () => {
    const text = '{"calendar":"c","series":{"R=":["R1="]}}';
    expect(decodeWatermark(text)).toEqual({ calendar: 'c' });
    expect(decodeLegacySeries(text)).toEqual({ 'R=': ['R1='] });
    expect(decodeLegacySeries('{"calendar":"c"}')).toEqual({});
  });
});
