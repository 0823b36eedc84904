import { describe, expect, it } from 'vitest';
import { itemType } from '../../../src/items/index.js';
import type { ItemChange } from '../../../src/ports/database.port.js';
import { updateEchoSkippable, withoutOwnEchoes } from '../../../src/sync/decisions/echo.js';

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
});
