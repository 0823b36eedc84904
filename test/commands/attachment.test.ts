import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failure, ok } from '../../src/protocol/replies.js';
import { exh, reply, useDatabaseListener } from './client-process.js';

/** `exh attachment get` against the real database listener, which answers with bytes the test chose. */
describe('exh attachment get', () => {
  // Every byte value, and more than one pipe write's worth, so that nothing is re-encoded or cut short.
  const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(200_000)]);
  const ids = ['--user', 'ann@x.test', '--item-id', 'AAMk-1'];
  const { received, flags } = useDatabaseListener('a-token-for-the-attachment-test', (request) => {
    if (request.type !== 'getAttachment') return failure(`unexpected ${request.type}`);
    if (request.attachmentId === 'gone') return failure('Attachment gone of ann@x.test does not exist', 1);
    return ok(bytes.toString('base64'));
  });

  it('asks for the attachment by user, item id and attachment id, and writes its bytes to stdout unchanged', async () => {
    const got = await exh(['attachment', 'get', ...ids, '--attachment-id', 'AAMk-1-att', ...flags()]);
    expect(got.code).toBe(0);
    expect(received.at(-1)).toEqual({
      type: 'getAttachment',
      user: 'ann@x.test',
      itemId: 'AAMk-1',
      attachmentId: 'AAMk-1-att',
    });
    expect(got.stdout.equals(bytes)).toBe(true);
  }, 30_000);

  it('writes the bytes to --out and says how many, with nothing on stdout', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'exh-attachment-')), 'file.bin');
    const got = await exh(['attachment', 'get', ...ids, '--attachment-id', 'AAMk-1-att', '--out', out, ...flags()]);
    expect(got.code).toBe(0);
    expect(got.stdout.length).toBe(0);
    expect(got.stderr).toBe(`Wrote ${bytes.length} bytes to ${out}\n`);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  }, 30_000);

  it('prints a refusal as the reply, writes no file, and exits 1', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'exh-attachment-')), 'file.bin');
    const got = await exh(['attachment', 'get', ...ids, '--attachment-id', 'gone', '--out', out, ...flags()]);
    expect(got.code).toBe(1);
    expect(reply(got.stdout)).toEqual({
      exitCode: 1,
      outputValue: null,
      errorMessage: 'Attachment gone of ann@x.test does not exist',
    });
    expect(got.stderr).toContain('Attachment gone of ann@x.test does not exist');
    expect(existsSync(out)).toBe(false);
  }, 30_000);
});
