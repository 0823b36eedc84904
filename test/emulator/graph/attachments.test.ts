import { describe, expect, it } from 'vitest';
import { startGraph } from './support.js';

/** File attachments over Graph: POST under 3 MB, $value, upload sessions in ranges of at most 4 MB. */

const graph = await startGraph();
const alice = '/users/alice@contoso.test';
type List = { value: Record<string, unknown>[] };

async function draft(): Promise<string> {
  const created = await graph.call('POST', `${alice}/messages`, { body: { subject: 'With attachment' } });
  return created.body.id as string;
}

describe('attachments', () => {
  it('adds a small file, lists it and returns its bytes with $value', async () => {
    const id = await draft();
    const added = await graph.call('POST', `${alice}/messages/${id}/attachments`, {
      body: {
        '@odata.type': '#microsoft.graph.fileAttachment',
        name: 'a.txt',
        contentType: 'text/plain',
        contentBytes: Buffer.from('hello').toString('base64'),
      },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ name: 'a.txt', size: 5, isInline: false });
    const list = await graph.call<List>('GET', `${alice}/messages/${id}/attachments`);
    expect(list.body.value.map((a) => a.name)).toEqual(['a.txt']);
    const value = await graph.call<Buffer>('GET', `${alice}/messages/${id}/attachments/${added.body.id}/$value`, {
      raw: true,
    });
    expect(value.status).toBe(200);
    expect(value.body.toString('utf8')).toBe('hello');
    expect((await graph.call('GET', `${alice}/messages/${id}`)).body.hasAttachments).toBe(true);
    expect((await graph.call('DELETE', `${alice}/messages/${id}/attachments/${added.body.id}`)).status).toBe(204);
    expect((await graph.call<List>('GET', `${alice}/messages/${id}/attachments`)).body.value).toEqual([]);
  });

  it('refuses 3 MB and more by POST', async () => {
    const id = await draft();
    const big = Buffer.alloc(3 * 1024 * 1024 + 1, 1).toString('base64');
    const refused = await graph.call('POST', `${alice}/messages/${id}/attachments`, {
      body: { '@odata.type': '#microsoft.graph.fileAttachment', name: 'big.bin', contentBytes: big },
    });
    expect(refused.status).toBe(413);
  });

  it('uploads 5 MB through an upload session in ranges of at most 4 MB, without a token', async () => {
    const id = await draft();
    const size = 5 * 1024 * 1024;
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i++) content[i] = i % 251;
    const session = await graph.call('POST', `${alice}/messages/${id}/attachments/createUploadSession`, {
      body: {
        AttachmentItem: { attachmentType: 'file', name: 'big.bin', size, contentType: 'application/octet-stream' },
      },
    });
    expect(session.status).toBe(201);
    expect(session.body.nextExpectedRanges).toEqual(['0-']);
    const url = session.body.uploadUrl as string;
    const put = (from: number, to: number) =>
      fetch(url, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${from}-${to - 1}/${size}` },
        body: content.subarray(from, to),
      });
    const tooBig = await put(0, 4 * 1024 * 1024 + 1);
    expect(tooBig.status).toBe(413);
    const first = await put(0, 4 * 1024 * 1024);
    expect(first.status).toBe(200);
    expect(((await first.json()) as { nextExpectedRanges: string[] }).nextExpectedRanges).toEqual([
      `${4 * 1024 * 1024}-`,
    ]);
    const outOfOrder = await put(0, 1024);
    expect(outOfOrder.status).toBe(416);
    const last = await put(4 * 1024 * 1024, size);
    expect(last.status).toBe(201);
    expect(last.headers.get('location')).toContain('/attachments/');
    const list = await graph.call<List>('GET', `${alice}/messages/${id}/attachments`);
    const stored = list.body.value.find((a) => a.name === 'big.bin');
    expect(stored?.size).toBe(size);
    const bytes = await graph.call<Buffer>('GET', `${alice}/messages/${id}/attachments/${stored?.id}/$value`, {
      raw: true,
    });
    expect(bytes.body.equals(content)).toBe(true);
  });

  it('refuses an upload session above 150 MB', async () => {
    const id = await draft();
    const refused = await graph.call('POST', `${alice}/messages/${id}/attachments/createUploadSession`, {
      body: { AttachmentItem: { attachmentType: 'file', name: 'huge.bin', size: 150 * 1024 * 1024 + 1 } },
    });
    expect(refused.status).toBe(400);
  });
});
