import { describe, expect, it } from 'vitest';
import { runExh } from '../support/exh-process.js';
import { lineReader } from '../support/net.js';

describe('exh emulator', () => {
  it('prints the one line with its URL, answers EWS there (401 without credentials), and stops on SIGTERM', async () => {
    const exh = runExh(['emulator', '--port', '0', '--mailboxes', 'carol@fabrikam.test']);
    const out = lineReader(exh.child.stdout as never);
    const line = await out.waitFor((l) => l.startsWith('EWS emulator listening on '));
    const url = line.replace('EWS emulator listening on ', '');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx$/);
    const response = await fetch(url, { method: 'POST', body: '<x/>', headers: { 'content-type': 'text/xml' } });
    expect(response.status).toBe(401);
    exh.child.kill('SIGTERM');
    expect((await exh.exited).code).toBe(0);
  });
});
