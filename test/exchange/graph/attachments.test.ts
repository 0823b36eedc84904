import { describe, expect, it } from 'vitest';
import { inlineLimit, rangeBytes, uploadLimit } from '../../../src/exchange/graph/attachments.js';
import type { GraphRequest } from '../../../src/exchange/graph/client.js';
import { alice, graphAdapter, live, startGraphEmulator, syncAll } from './adapter-support.js';

const emulator = await startGraphEmulator({ mailboxes: [alice], bodyLimit: 32 * 1024 * 1024 });
const sent: GraphRequest[] = [];
const adapter = graphAdapter(emulator, { now: () => new Date('2026-01-02T08:00:00Z'), record: sent });

async function event(subject: string) {
  const connection = await adapter.connect(alice);
  const created = await connection.createItem(
    {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      appItemId: subject,
      properties: { subject, start: '2026-01-08T09:00:00Z', end: '2026-01-08T10:00:00Z' },
    },
    live(),
  );
  return { connection, itemId: created.itemId };
}

describe('attachments through Graph', () => {
  it('adds a small file in one POST, lists it on the item, and reads its bytes back', async () => {
    const { connection, itemId } = await event('Small');
    const content = Buffer.from('hello, attachment');
    const { attachmentId } = await connection.addAttachment(
      itemId,
      { name: 'note.txt', contentType: 'text/plain', content },
      live(),
    );
    const read = await connection.readItem(itemId, live());
    expect(read?.properties.attachments).toEqual([{ name: 'note.txt', id: attachmentId }]);
    const { changes } = await syncAll(connection, 'calendar');
    const synced = changes.find((c) => 'item' in c && c.item.id === itemId) as { item: { properties: object } };
    expect(synced.item.properties).toMatchObject({ attachments: [{ name: 'note.txt', id: attachmentId }] });
    const got = await connection.getAttachment(itemId, attachmentId, { ...live(), maxBytes: 1024 });
    expect(got).toEqual({ name: 'note.txt', contentType: 'text/plain', content });
    await expect(connection.getAttachment(itemId, attachmentId, { ...live(), maxBytes: 5 })).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_ATTACHMENT_TOO_LARGE',
    });
  });

  it('reads back bytes that are JSON exactly as they were', async () => {
    const { connection, itemId } = await event('Json');
    const content = Buffer.from('{ "b": 1,\n  "a": [2] }');
    const { attachmentId } = await connection.addAttachment(
      itemId,
      { name: 'data.json', contentType: 'application/json', content },
      live(),
    );
    const got = await connection.getAttachment(itemId, attachmentId, { ...live(), maxBytes: 1024 });
    expect(got.content.equals(content)).toBe(true);
  });

  it('uploads a file of 3 MB or more through an upload session, in ranges of at most 4 MB', async () => {
    const { connection, itemId } = await event('Large');
    const content = Buffer.alloc(inlineLimit + rangeBytes + 1234, 7);
    const before = sent.length;
    const { attachmentId } = await connection.addAttachment(
      itemId,
      { name: 'big.bin', contentType: 'application/octet-stream', content },
      live(),
    );
    const puts = sent.slice(before).filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.headers?.['Content-Range'])).toEqual([
      `bytes 0-${rangeBytes - 1}/${content.length}`,
      `bytes ${rangeBytes}-${content.length - 1}/${content.length}`,
    ]);
    expect(puts.every((r) => r.anonymous === true && (r.rawBody?.length ?? 0) <= rangeBytes)).toBe(true);
    expect(sent.slice(before).some((r) => r.method === 'POST' && r.url.endsWith('/attachments'))).toBe(false);
    const got = await connection.getAttachment(itemId, attachmentId, { ...live(), maxBytes: content.length });
    expect(got.content.equals(content)).toBe(true);
  });

  it('refuses a file over 150 MB before sending anything', async () => {
    const { connection, itemId } = await event('Huge');
    const before = sent.length;
    await expect(
      connection.addAttachment(
        itemId,
        { name: 'huge.bin', contentType: 'application/octet-stream', content: Buffer.alloc(uploadLimit + 1) },
        live(),
      ),
    ).rejects.toMatchObject({ code: 'EXH_EXCHANGE_REQUEST_FAILED', message: expect.stringContaining('150 MB') });
    expect(sent.length).toBe(before);
  });
});
