import { describe, expect, it } from 'vitest';
import { appTable, isKeyField, rangeFilters, valueFields } from '../../../src/db/sql/example-shared.js';
import { itemType } from '../../../src/items/index.js';

describe("the example application's shared parts", () => {
  it("filters exh_get_item_* on the ranges each type has a field for, each by that field's column", () => {
    const ranges = (name: string) => rangeFilters(itemType(name)).map((r) => `${r.from} ${r.until} ${r.column}`);
    expect(ranges('calendar')).toEqual([
      'exh_created_from exh_created_until exh_created',
      'exh_modified_from exh_modified_until exh_last_modified',
      'exh_start_from exh_start_until exh_start',
    ]);
    expect(ranges('email')).toEqual(['exh_received_from exh_received_until exh_received']);
    expect(ranges('task')).toEqual(['exh_start_from exh_start_until exh_start']);
    expect(ranges('contact')).toEqual([]);
  });

  it('keeps one table per type, whose upserts write every field but the keys', () => {
    const task = itemType('task');
    expect(appTable(task)).toBe('task_item');
    expect(task.fields.filter(isKeyField).map((f) => f.name)).toEqual(['app_item_id', 'item_id', 'user']);
    expect(valueFields(task).map((f) => f.name)).toEqual(task.fields.slice(3).map((f) => f.name));
  });
});
