import { describe, expect, it } from 'vitest';
import { runExh } from '../support/exh-process.js';

describe('exh machines export', () => {
  it('refuses a format it does not have with exit status 2 (a usage error) and the formats it has', async () => {
    const exh = runExh(['machines', 'export', '--format', 'dot']);
    const { code } = await exh.exited;
    expect(code).toBe(2);
    expect(exh.stderr()).toContain("argument 'dot' is invalid. Allowed choices are mermaid, json.");
  });

  it('exits 0 for --help', async () => {
    const exh = runExh(['machines', 'export', '--help']);
    expect((await exh.exited).code).toBe(0);
  });
});
