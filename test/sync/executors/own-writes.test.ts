import { describe, expect, it } from 'vitest';
import { OwnWrites } from '../../../src/sync/executors/own-writes.js';

describe('the connector’s own writes', () => {
  it('know the last write of an item once, case-blind on the user, and forget it at any other version', () => {
    const own = new OwnWrites();
    own.wrote('Alice@contoso.test', 'a', 'k1');
    own.wrote('alice@contoso.test', 'a', 'k2');
    own.wrote('alice@contoso.test', 'b', null);
    own.wrote('alice@contoso.test', 'c', 'k1');
    expect(own.isEcho('alice@contoso.test', 'a', 'k1')).toBe(false);
    expect(own.isEcho('alice@contoso.test', 'a', 'k2')).toBe(false);
    expect(own.isEcho('ALICE@contoso.test', 'b', null)).toBe(true);
    expect(own.isEcho('alice@contoso.test', 'b', null)).toBe(false);
    expect(own.isEcho('bob@contoso.test', 'c', 'k1')).toBe(false);
    expect(own.isEcho('alice@contoso.test', 'c', 'k1')).toBe(true);
    expect(own.size).toBe(0);
  });

  it('never take an item the connector created for an echo before Exchange has reported it once', () => {
    const own = new OwnWrites();
    own.created('u', 'a');
    own.wrote('u', 'a', 'k1');
    // Graph's delta may report the new item as an update, with the key of the change written after the create.
    expect(own.isEcho('u', 'a', 'k1')).toBe(false);
    own.wrote('u', 'a', 'k2');
    expect(own.isEcho('u', 'a', 'k2')).toBe(true);
  });

  it('take no later write for an echo once one was written over changes the row has not seen, until the sync met the item', () => {
    const own = new OwnWrites();
    // A conflict decided for the application: written over a person's change the row has not seen.
    own.wroteOver('u', 'a');
    // The application's next change, written on the version that write left: its key is the item's latest.
    own.wrote('u', 'a', 'k2');
    expect(own.isEcho('u', 'a', 'k2')).toBe(false);
    // The sync met the item: the row reflects it now, and the next own write's echo is skipped again.
    own.wrote('u', 'a', 'k3');
    expect(own.isEcho('u', 'a', 'k3')).toBe(true);
  });

  it('keep at most `limit` items, forgetting the oldest first', () => {
    const own = new OwnWrites(2);
    own.wrote('u', 'a', 'k');
    own.wrote('u', 'b', 'k');
    own.wrote('u', 'a', 'k');
    own.wrote('u', 'c', 'k');
    expect(own.size).toBe(2);
    expect(own.isEcho('u', 'b', 'k')).toBe(false);
    expect(own.isEcho('u', 'a', 'k')).toBe(true);
    expect(own.isEcho('u', 'c', 'k')).toBe(true);
  });
});
