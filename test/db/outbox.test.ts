import { describe, expect, it } from 'vitest';
import { outboxActionList, outboxEntryFromRow, outboxState, rangeParameters } from '../../src/db/outbox.js';
import { itemTypes } from '../../src/items/index.js';

const created = new Date('2026-03-01T08:00:00Z');

/** What every adapter makes of an exh_outbox row and of an outcome (src/db/outbox.ts); with a database: contract.ts. */
describe('outboxState', () => {
  it('is done for 0, stays pending for 521 and 522 (tried again), and failed for anything else', () => {
    expect(
      [0, 521, 522, 1, 2, 523].map((exitCode) => outboxState({ exitCode, outputValue: null, errorMessage: null })),
    ).toEqual(['done', 'pending', 'pending', 'failed', 'failed', 'failed']);
  });
});

describe('outboxEntryFromRow', () => {
  it("reads an item change with its type's fields, whatever the case of the columns and the padding of the id", () => {
    const entry = outboxEntryFromRow(
      {
        ID: ' 42 ',
        EXH_USER: 'alice@contoso.test',
        EXH_ITEM_TYPE: 'task',
        EXH_ACTION: 'chg',
        EXH_PAYLOAD: JSON.stringify({
          exh_item_id: 'AAMk-1',
          exh_subject: 'Report',
          exh_percent_complete: '50',
          exh_unknown: 'x',
        }),
        EXH_CREATED: '2026-03-01 08:00:00.000000',
        EXH_ATTEMPTS: '2',
      },
      itemTypes,
    );
    expect(entry).toEqual({
      id: '42',
      user: 'alice@contoso.test',
      itemType: 'task',
      action: 'chg',
      fields: { item_id: 'AAMk-1', subject: 'Report', percent_complete: 50 },
      createdAt: created,
      attempts: 2,
    });
  });

  it('reads a command with its parameters as written, with or without a user and a type', () => {
    const row = (action: string, payload: unknown, user: string | null, itemType: string | null) => ({
      id: 7,
      exh_user: user,
      exh_item_type: itemType,
      exh_action: action,
      exh_payload: JSON.stringify(payload),
      exh_created: created,
      exh_attempts: 0,
    });
    expect(outboxEntryFromRow(row('sync_users', {}, null, null), itemTypes)).toEqual({
      id: '7',
      user: null,
      itemType: null,
      action: 'sync_users',
      parameters: {},
      createdAt: created,
      attempts: 0,
    });
    expect(
      outboxEntryFromRow(
        row('sync_item', { exh_sync_direction: 1, exh_item: 3 }, 'bob@contoso.test', 'task'),
        itemTypes,
      ),
    ).toMatchObject({
      user: 'bob@contoso.test',
      itemType: 'task',
      action: 'sync_item',
      parameters: { exh_sync_direction: 1 },
    });
  });

  it('turns a row it cannot read into an invalid entry naming the problem, so that one bad row never stops the outbox', () => {
    const bad = (overrides: Record<string, unknown>) =>
      outboxEntryFromRow(
        {
          id: '9',
          exh_user: 'alice@contoso.test',
          exh_item_type: 'task',
          exh_action: 'add',
          exh_payload: '{"exh_app_item_id":"1"}',
          exh_created: created,
          exh_attempts: 1,
          ...overrides,
        },
        itemTypes,
      );
    const problems = [
      bad({ exh_item_type: 'fax' }),
      bad({ exh_action: 'upsert' }),
      bad({ exh_user: null }),
      bad({ exh_payload: '{not json' }),
      bad({ exh_action: 'sync_item', exh_payload: 'nor this' }),
    ];
    for (const entry of problems) {
      expect(entry).toMatchObject({ id: '9', itemType: null, action: 'invalid', attempts: 1 });
    }
    expect(problems.map((entry) => ('parameters' in entry ? String(entry.parameters.problem) : ''))).toEqual([
      'outbox row 9 cannot be read: its item type "fax" is not one this connector knows',
      'outbox row 9 cannot be read: unknown action upsert',
      'outbox row 9 cannot be read: it has no exh_user',
      expect.stringMatching(/^outbox row 9 cannot be read: .*JSON/),
      expect.stringMatching(/^outbox row 9 cannot be read: .*JSON/),
    ]);
  });
});

describe('rangeParameters', () => {
  it("gives exh_get_item_*'s eight range parameters in the procedures' order, null where no bound is asked", () => {
    const from = new Date('2026-01-01T00:00:00Z');
    const until = new Date('2026-02-01T00:00:00Z');
    expect(rangeParameters({ modified: { from }, start: { from, until } })).toEqual([
      { name: 'exh_created_from', value: null },
      { name: 'exh_created_until', value: null },
      { name: 'exh_modified_from', value: from },
      { name: 'exh_modified_until', value: null },
      { name: 'exh_received_from', value: null },
      { name: 'exh_received_until', value: null },
      { name: 'exh_start_from', value: from },
      { name: 'exh_start_until', value: until },
    ]);
  });
});

describe('outboxActionList', () => {
  it('reads every kind the outbox holds, items and commands alike', () => {
    expect(outboxActionList).toBe("'add', 'chg', 'del', 'sync_users', 'sync_item', 'get_attachment'");
  });
});
