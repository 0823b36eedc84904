import { describe, expect, it } from 'vitest';
import { syncItemsFromWire } from '../../actors/database-listener.actors.js';

describe('syncItemsFromWire', () => {
  const base = {
    type: 'syncItems' as const,
    token: 't',
    direction: 0 as const,
    user: null,
    item: null,
    add: true,
    chg: true,
    del: true,
    createdFrom: null,
    createdUntil: null,
    modifiedFrom: null,
    modifiedUntil: null,
    receivedFrom: null,
    receivedUntil: null,
    startFrom: null,
    startUntil: null,
  };

  it('maps the seed’s item numbers and reads dates: a date alone is UTC midnight, no offset is UTC', () => {
    expect(
      syncItemsFromWire({ ...base, item: 2, startFrom: '2026-03-01', startUntil: '2026-03-02T12:30:00', del: false }),
    ).toEqual({
      direction: 0,
      user: null,
      itemType: 'email',
      add: true,
      chg: true,
      del: false,
      start: { from: new Date('2026-03-01T00:00:00Z'), until: new Date('2026-03-02T12:30:00Z') },
    });
    expect(syncItemsFromWire({ ...base, modifiedFrom: '2026-03-01T10:00:00+02:00' }).modified).toEqual({
      from: new Date('2026-03-01T08:00:00Z'),
    });
  });
});
