import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRequest, parseSyncItems, requestTypes, toSyncItemsRequest } from '../../src/protocol/messages.js';

const item = (action: string, fields: Record<string, unknown>, itemType = 'calendar') => ({
  type: 'item',
  action,
  itemType,
  user: 'alice@contoso.test',
  fields,
});

function problem(value: unknown): string {
  const result = parseRequest(value);
  if (result.ok) throw new Error(`expected a problem, got ${JSON.stringify(result.request)}`);
  return result.problem;
}

describe('parseRequest', () => {
  it("returns the envelope's forwardedBy apart from the request (an instance handing it on), and refuses one that is not an id", () => {
    const forwarded = parseRequest({ token: 't', type: 'ping', forwardedBy: 'exh-a' });
    expect(forwarded).toEqual({ ok: true, request: { type: 'ping' }, forwardedBy: 'exh-a' });
    expect(parseRequest({ token: 't', type: 'ping' })).toEqual({ ok: true, request: { type: 'ping' } });
    expect(problem({ type: 'ping', forwardedBy: 7 })).toBe(
      'forwardedBy: expected the id of the instance that handed the request on',
    );
    expect(problem({ type: 'ping', forwardedBy: '' })).toMatch(/^forwardedBy:/);
  });

  it('keeps null (unchanged) and an empty string (clear) for text fields', () => {
    const result = parseRequest(item('chg', { item_id: 'AAMk1', subject: null, location: '' }));
    expect(result).toEqual({ ok: true, request: item('chg', { item_id: 'AAMk1', subject: null, location: '' }) });
  });

  it('refuses an empty string for a field that is not text, naming the field', () => {
    expect(problem(item('chg', { item_id: 'AAMk1', start: '' }))).toMatch(/^fields\.start: '' clears only text fields/);
    expect(problem(item('chg', { item_id: 'AAMk1', reminder: '' }))).toMatch(/^fields\.reminder: '' clears only/);
  });

  it('checks values by kind', () => {
    expect(problem(item('chg', { item_id: 'A', reminder: 1.5 }))).toMatch(/^fields\.reminder: /);
    expect(problem(item('chg', { item_id: 'A', all_day: 'yes' }))).toMatch(/^fields\.all_day: /);
    expect(problem(item('chg', { item_id: 'A', birthday: '1990-02-30x' }, 'contact'))).toMatch(
      /^fields\.birthday: expected a date as YYYY-MM-DD/,
    );
    expect(problem(item('chg', { item_id: 'A', subject: { nested: true } }))).toMatch(/^fields\.subject: /);
  });

  it('needs the application id to add and an id to change or delete', () => {
    expect(problem(item('add', { subject: 'x' }))).toBe('fields.app_item_id: required for add');
    expect(problem(item('del', {}))).toBe('fields.item_id: del needs item_id (or app_item_id)');
    expect(parseRequest(item('del', { app_item_id: '7' })).ok).toBe(true);
  });

  it('takes exh_sync_item parameters with the documented numbering and bit flags (docs/database.md, "Resynchronising")', () => {
    const result = parseRequest({
      type: 'syncItems',
      direction: 1,
      user: null,
      item: null,
      add: 1,
      chg: false,
      del: 0,
      createdFrom: '2014-10-20',
      startUntil: '2014-10-21T10:00:00+02:00',
    });
    expect(result).toMatchObject({
      ok: true,
      request: {
        direction: 1,
        user: null,
        item: null,
        add: true,
        chg: false,
        del: false,
        startUntil: '2014-10-21T10:00:00+02:00',
      },
    });
    expect(problem({ type: 'syncItems', direction: 2 })).toMatch(/^direction: expected 0 \(Exchange → database\) or 1/);
    expect(problem({ type: 'syncItems', direction: 0, item: 4 })).toMatch(/^item: expected 0 \(calendar\)/);
    expect(problem({ type: 'syncItems', direction: 0, item: 7 })).toBe(
      'item: expected 0 (calendar), 1 (contact), 2 (email), 3 (task) or null, not 7',
    );
    expect(problem({ type: 'syncItems', direction: 0, item: '2' })).toMatch(
      /^item: expected 0 .* not "2" \(a string\)$/,
    );
    expect(problem({ type: 'syncItems', direction: 0, item: [2] })).toMatch(/^item: expected 0 .* not an array$/);
    expect(problem({ type: 'syncItems', direction: 0, modifiedFrom: 'yesterday' })).toMatch(/^modifiedFrom: /);
  });

  it('checks attachments', () => {
    const add = { type: 'addAttachment', user: 'a@b.test', itemId: 'I', name: 'a.txt', contentBase64: 'aGVsbG8=' };
    expect(parseRequest(add)).toMatchObject({ ok: true, request: { contentType: 'application/octet-stream' } });
    expect(problem({ ...add, contentBase64: 'not base64!' })).toMatch(/^contentBase64: expected base64/);
    expect(problem({ type: 'getAttachment', user: 'a@b.test', itemId: '', attachmentId: 'A' })).toBe(
      'itemId: must not be empty',
    );
  });
});

describe('parseSyncItems', () => {
  it('reads the fields as the listener does, and names each problem by the caller’s own name for its field', () => {
    expect(parseSyncItems({ direction: 1, item: 3, startFrom: '2026-03-01' })).toEqual({
      ok: true,
      request: {
        direction: 1,
        user: null,
        itemType: 'task',
        add: true,
        chg: true,
        del: false,
        start: { from: new Date('2026-03-01T00:00:00Z') },
      },
    });
    const names = (field: string) => `exh_${field}`;
    expect(parseSyncItems({ direction: 0, item: 7 }, names)).toEqual({
      ok: false,
      problem: 'exh_item: expected 0 (calendar), 1 (contact), 2 (email), 3 (task) or null, not 7',
    });
    expect(parseSyncItems({ direction: 0, item: '2' }, names)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^exh_item: .* not "2" \(a string\)$/),
    });
    expect(parseSyncItems({ direction: 3 })).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^direction: expected 0/),
    });
  });
});

describe('toSyncItemsRequest', () => {
  /** Parsed as the listener parses it, then read as the ControlPort takes it. */
  function syncItems(fields: Record<string, unknown>) {
    const result = parseRequest({ type: 'syncItems', ...fields });
    if (!result.ok || result.request.type !== 'syncItems')
      throw new Error(`not a valid syncItems: ${JSON.stringify(result)}`);
    return toSyncItemsRequest(result.request);
  }

  it('names the item type by its number in the registry and reads dates: a date alone is UTC midnight, no offset is UTC', () => {
    expect(
      syncItems({ direction: 0, item: 2, startFrom: '2026-03-01', startUntil: '2026-03-02T12:30:00', del: false }),
    ).toEqual({
      direction: 0,
      user: null,
      itemType: 'email',
      add: true,
      chg: true,
      del: false,
      start: { from: new Date('2026-03-01T00:00:00Z'), until: new Date('2026-03-02T12:30:00Z') },
    });
    expect(syncItems({ direction: 0, modifiedFrom: '2026-03-01T10:00:00+02:00' }).modified).toEqual({
      from: new Date('2026-03-01T08:00:00Z'),
    });
    expect(syncItems({ direction: 0, receivedUntil: '2026-03-01T10:00:00Z' }).received).toEqual({
      until: new Date('2026-03-01T10:00:00Z'),
    });
    expect(syncItems({ direction: 1, item: 0, user: 'alice@contoso.test' })).toMatchObject({
      user: 'alice@contoso.test',
      itemType: 'calendar',
    });
  });

  it('deletes by default towards the database only, and leaves out the ranges not asked for', () => {
    expect(syncItems({ direction: 0 })).toEqual({
      direction: 0,
      user: null,
      itemType: null,
      add: true,
      chg: true,
      del: true,
    });
    expect(syncItems({ direction: 1 }).del).toBe(false);
    expect(syncItems({ direction: 1, del: 1 }).del).toBe(true);
  });
});

describe('docs/protocol.md', () => {
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

  it('describes every request type', () => {
    for (const type of requestTypes) expect(doc).toContain(`### \`${type}\``);
  });
});
