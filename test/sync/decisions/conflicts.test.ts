import { describe, expect, it } from 'vitest';
import type { ItemChange } from '../../../src/ports/database.port.js';
import {
  type ConflictFacts,
  type ConflictRule,
  conflictRules,
  decideConflict,
  holdFields,
  holdsValues,
  intendedValues,
  type PendingChange,
  pendingFor,
  reconcilePage,
} from '../../../src/sync/decisions/conflicts.js';

const at = (iso: string) => new Date(iso);
const changed = (changeKey: string, lastModified: string | null = '2027-01-01T10:00:00Z') => ({
  deleted: false as const,
  changeKey,
  lastModified: lastModified === null ? null : at(lastModified),
});
const facts = (overrides: Partial<ConflictFacts> = {}): ConflictFacts => ({
  exchange: changed('K2'),
  knownChangeKey: 'K1',
  database: { deleted: false, changedAt: at('2027-01-01T09:00:00Z') },
  ...overrides,
});

describe('decideConflict', () => {
  it.each(conflictRules)('%s: no conflict when Exchange is at the version the row reflects (its own echo)', (rule) => {
    expect(decideConflict(rule, facts({ exchange: changed('K1') }))).toEqual({ conflict: false });
  });

  it.each(conflictRules)(
    '%s: no conflict when the key the row reflects is unknown: the application goes ahead',
    (rule) => {
      expect(decideConflict(rule, facts({ knownChangeKey: null }))).toEqual({ conflict: false });
    },
  );

  it('exchange-wins and database-wins name their side whatever the times', () => {
    for (const changedAt of ['2026-01-01T00:00:00Z', '2028-01-01T00:00:00Z']) {
      const both = facts({ database: { deleted: false, changedAt: at(changedAt) } });
      expect(decideConflict('exchange-wins', both)).toEqual({ conflict: true, winner: 'exchange', by: 'rule' });
      expect(decideConflict('database-wins', both)).toEqual({ conflict: true, winner: 'database', by: 'rule' });
    }
  });

  it('latest-wins: the later change wins; a tie or no time from Exchange goes to Exchange', () => {
    const decide = (exchange: string | null, database: string) =>
      decideConflict(
        'latest-wins',
        facts({ exchange: changed('K2', exchange), database: { deleted: false, changedAt: at(database) } }),
      );
    expect(decide('2027-01-01T10:00:00Z', '2027-01-01T09:59:59Z')).toMatchObject({ winner: 'exchange' });
    expect(decide('2027-01-01T10:00:00Z', '2027-01-01T10:00:01Z')).toMatchObject({ winner: 'database' });
    expect(decide('2027-01-01T10:00:00Z', '2027-01-01T10:00:00Z')).toMatchObject({ winner: 'exchange' });
    expect(decide(null, '2030-01-01T00:00:00Z')).toMatchObject({ winner: 'exchange' });
  });

  it.each(conflictRules)('%s: a deletion wins against a change, on either side; two deletions agree', (rule) => {
    expect(decideConflict(rule, facts({ exchange: { deleted: true } }))).toEqual({
      conflict: true,
      winner: 'exchange',
      by: 'deletion',
    });
    expect(decideConflict(rule, facts({ database: { deleted: true, changedAt: at('2020-01-01T00:00:00Z') } }))).toEqual(
      { conflict: true, winner: 'database', by: 'deletion' },
    );
    expect(
      decideConflict(
        rule,
        facts({ exchange: { deleted: true }, database: { deleted: true, changedAt: at('2027-01-01T00:00:00Z') } }),
      ),
    ).toEqual({ conflict: false });
    // Gone in Exchange is a conflict even when the row's key was never known: the change has nowhere to go.
    expect(decideConflict(rule, facts({ exchange: { deleted: true }, knownChangeKey: null }))).toMatchObject({
      conflict: true,
      winner: 'exchange',
    });
  });
});

const pending = (
  id: string,
  action: PendingChange['action'],
  fields: PendingChange['fields'],
  createdAt = '2027-01-01T09:00:00Z',
): PendingChange => ({ id, action, fields, createdAt: at(createdAt) });

describe('pendingFor and holdFields', () => {
  const rows = [
    pending('1', 'add', { app_item_id: 'A', item_id: null, subject: 'new' }),
    pending('2', 'chg', { app_item_id: 'A', item_id: null, subject: 'renamed' }),
    pending('3', 'chg', { app_item_id: 'B', item_id: 'X', subject: null, location: 'Room 2' }),
    pending('4', 'del', { app_item_id: null, item_id: 'Y' }),
  ];

  it('matches by item id, or by application id while the row has no item id; creates are no changes', () => {
    expect(pendingFor(rows, { itemId: 'X', appItemId: 'B' }, null).map((r) => r.id)).toEqual(['3']);
    expect(pendingFor(rows, { itemId: 'new-id', appItemId: 'A' }, null).map((r) => r.id)).toEqual(['2']);
    expect(pendingFor(rows, { itemId: 'Y', appItemId: null }, null).map((r) => r.id)).toEqual(['4']);
    // An id that only differs in case is another item (Exchange ids are case-sensitive).
    expect(pendingFor(rows, { itemId: 'x', appItemId: null }, null)).toEqual([]);
  });

  it('leaves out the rows that already lost a conflict', () => {
    expect(pendingFor(rows, { itemId: 'X', appItemId: 'B' }, '3')).toEqual([]);
    expect(pendingFor(rows, { itemId: 'X', appItemId: 'B' }, '2').map((r) => r.id)).toEqual(['3']);
  });

  it("holds back (NULL) exactly the fields the application set, '' included, and never the key fields", () => {
    const change: ItemChange = {
      action: 'chg',
      fields: { item_id: 'X', app_item_id: 'B', user: 'u', subject: 'From Exchange', location: 'Room 1', body: 'b' },
      changeKey: 'K2',
    };
    const cleared = pending('5', 'chg', { item_id: 'X', app_item_id: 'B', body: '' });
    expect(holdFields(change, [rows[2] as PendingChange, cleared])).toEqual({
      action: 'chg',
      fields: { item_id: 'X', app_item_id: 'B', user: 'u', subject: 'From Exchange', location: null, body: null },
      changeKey: 'K2',
    });
  });
});

describe('intendedValues and holdsValues: two sides that agree do not conflict', () => {
  it('takes the later change of a field, and leaves key fields and NULLs out', () => {
    expect(
      intendedValues([
        pending('1', 'chg', { item_id: 'X', subject: 'one', owner: 'Ann', due: null }),
        pending('2', 'chg', { item_id: 'X', subject: 'two', owner: null }),
      ]),
    ).toEqual({ subject: 'two', owner: 'Ann' });
  });

  it('compares empty text with no value, times as instants, numbers as numbers, the rest exactly', () => {
    const current = { subject: 'Call', body: '', due: at('2027-01-01T10:00:00Z'), percent_complete: 60 };
    expect(holdsValues(current, { subject: 'Call', body: '', due: at('2027-01-01T10:00:00.000Z') })).toBe(true);
    expect(holdsValues(current, { percent_complete: '60' })).toBe(true);
    expect(holdsValues({ ...current, body: null }, { body: '' })).toBe(true);
    expect(holdsValues(current, { subject: 'call' })).toBe(false);
    expect(holdsValues(current, { owner: 'Ann' })).toBe(false);
    expect(holdsValues(current, { due: at('2027-01-01T10:00:01Z') })).toBe(false);
  });
});

describe('reconcilePage', () => {
  const versions = new Map([
    ['X', { changeKey: 'K2', lastModified: at('2027-01-01T10:00:00Z') }],
    ['Z', { changeKey: 'KZ', lastModified: at('2027-01-01T10:00:00Z') }],
  ]);
  const page: ItemChange[] = [
    { action: 'chg', fields: { item_id: 'X', app_item_id: 'B', subject: 'Theirs', location: 'L' }, changeKey: 'K2' },
    { action: 'chg', fields: { item_id: 'Z', app_item_id: null, subject: 'Untouched' }, changeKey: 'KZ' },
  ];
  const ours = [pending('7', 'chg', { item_id: 'X', app_item_id: 'B', subject: 'Ours' }, '2027-01-01T11:00:00Z')];
  const run = (rule: ConflictRule, known = new Map([['X', { changeKey: 'K1', supersededUntil: null }]])) =>
    reconcilePage({ rule, changes: page, versions, known, pending: ours });

  it('applies a page as it is when the application has nothing pending', () => {
    expect(reconcilePage({ rule: 'exchange-wins', changes: page, versions, known: new Map(), pending: [] })).toEqual({
      changes: page,
      conflicts: [],
    });
  });

  it('exchange-wins: the change whole, the pending rows superseded, one conflict', () => {
    const { changes, conflicts } = run('exchange-wins');
    expect(changes[0]).toEqual({ ...page[0], supersedes: '7' });
    expect(changes[1]).toEqual(page[1]);
    expect(conflicts).toEqual([{ itemId: 'X', winner: 'exchange', by: 'rule' }]);
  });

  it("database-wins: the application's fields held, the rest of Exchange's taken, one conflict", () => {
    const { changes, conflicts } = run('database-wins');
    expect(changes[0]).toEqual({
      action: 'chg',
      fields: { item_id: 'X', app_item_id: 'B', subject: null, location: 'L' },
      changeKey: 'K2',
    });
    expect(conflicts).toEqual([{ itemId: 'X', winner: 'database', by: 'rule' }]);
  });

  it('latest-wins: the application changed last here', () => {
    expect(run('latest-wins').conflicts).toEqual([{ itemId: 'X', winner: 'database', by: 'rule' }]);
  });

  it('the echo of its own write is no conflict, but the pending fields are still held', () => {
    const { changes, conflicts } = run('exchange-wins', new Map([['X', { changeKey: 'K2', supersededUntil: null }]]));
    expect(conflicts).toEqual([]);
    expect(changes[0]?.fields.subject).toBeNull();
    expect(changes[0]?.supersedes).toBeUndefined();
  });

  it("Exchange already holding the application's values is no conflict (the same edit, or its own write)", () => {
    const same: ItemChange = { ...page[0], fields: { ...page[0]?.fields, subject: 'Ours' } } as ItemChange;
    const { changes, conflicts } = reconcilePage({
      rule: 'exchange-wins',
      changes: [same],
      versions,
      known: new Map([['X', { changeKey: 'K1', supersededUntil: null }]]),
      pending: ours,
    });
    expect(conflicts).toEqual([]);
    expect(changes[0]?.supersedes).toBeUndefined();
  });

  it('a pending deletion keeps the row deleted (the outbox decides); an Exchange deletion is applied', () => {
    const deletion = [pending('8', 'del', { item_id: 'X', app_item_id: null })];
    const known = new Map([['X', { changeKey: 'K1', supersededUntil: null }]]);
    expect(reconcilePage({ rule: 'exchange-wins', changes: page, versions, known, pending: deletion })).toEqual({
      changes: [page[1]],
      conflicts: [],
    });
    const gone: ItemChange = { action: 'del', fields: { item_id: 'X', app_item_id: null }, changeKey: null };
    expect(reconcilePage({ rule: 'database-wins', changes: [gone], versions, known, pending: ours })).toEqual({
      changes: [gone],
      conflicts: [],
    });
  });
});
