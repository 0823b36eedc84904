import { describe, expect, it } from 'vitest';
import { itemType } from '../../../src/items/index.js';
import type { ItemChange } from '../../../src/ports/database.port.js';
import { updateEchoOwn, updateEchoSkippable, withoutOwnEchoes } from '../../../src/sync/decisions/echo.js';

const change = (action: ItemChange['action'], itemId: string, changeKey: string | null): ItemChange => ({
  action,
  fields: { item_id: itemId, user: 'alice@contoso.test' },
  changeKey,
});

describe('the echo of the connector’s own writes', () => {
  it('skips an update with the key the connector wrote and a deletion it made; never a create', () => {
    const own = new Map<string, string | null>([
      ['a', 'k1'],
      ['b', 'k1'],
      ['c', null],
      ['d', 'k1'],
    ]);
    const asked: string[] = [];
    const { changes, echoes } = withoutOwnEchoes(
      itemType('contact'),
      [change('chg', 'a', 'k1'), change('chg', 'b', 'k2'), change('del', 'c', null), change('add', 'd', 'k1')],
      (itemId, changeKey) => {
        asked.push(itemId);
        return own.has(itemId) && own.get(itemId) === changeKey;
      },
    );
    expect(echoes).toBe(2);
    expect(changes.map((c) => [c.action, c.fields.item_id])).toEqual([
      ['chg', 'b'],
      ['add', 'd'],
    ]);
    // A create is asked about too (what was written is forgotten), but never skipped: it gives the row its item id.
    expect(asked).toEqual(['a', 'b', 'c', 'd']);
  });

  it('applies the calendar’s update echoes: Exchange sets last_modified and is_meeting on a write', () => {
    expect(updateEchoSkippable(itemType('calendar'))).toBe(false);
    expect(['contact', 'task', 'email'].map((name) => updateEchoSkippable(itemType(name as 'task')))).toEqual([
      true,
      true,
      true,
    ]);
    const { changes } = withoutOwnEchoes(itemType('calendar'), [change('chg', 'a', 'k1')], () => true);
    expect(changes).toHaveLength(1);
  });

  it('takes an update as its own only when written on the very version the row reflects (3e1acd4)', () => {
    const contact = itemType('contact');
    const onKnown = { named: true, onKnownVersion: true, changeKey: 'k2' };
    expect(updateEchoOwn(contact, onKnown)).toBe(true);
    // Written without a known key, as an overwrite, or again after a conflict decided for the application: the
    // version left also holds a person's later change, which only its echo brings to the row.
    expect(updateEchoOwn(contact, { ...onKnown, onKnownVersion: false })).toBe(false);
    // A row without its item id, a write whose key Exchange did not give, a type whose echo carries Exchange's values.
    expect(updateEchoOwn(contact, { ...onKnown, named: false })).toBe(false);
    expect(updateEchoOwn(contact, { ...onKnown, changeKey: null })).toBe(false);
    expect(updateEchoOwn(contact, { ...onKnown, changeKey: '' })).toBe(false);
    expect(updateEchoOwn(itemType('calendar'), onKnown)).toBe(false);
  });
});
