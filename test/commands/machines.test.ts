import { describe, expect, it } from 'vitest';
import { exhOutput, runExh } from '../support/exh-process.js';

describe('exh machines export', () => {
  it('exh machines export prints every statechart as Mermaid and as JSON', async () => {
    const mermaid = await exhOutput(['machines', 'export', '--format', 'mermaid']);
    expect(mermaid.code).toBe(0);
    for (const id of ['supervisor', 'database', 'mailboxes', 'mailbox', 'itemType', 'membership']) {
      expect(mermaid.stdout).toContain(`## ${id}\n\n\`\`\`mermaid\nstateDiagram-v2`);
    }
    const json = await exhOutput(['machines', 'export', '--format', 'json']);
    expect(JSON.parse(json.stdout).map((chart: { id: string }) => chart.id)).toEqual([
      'supervisor',
      'database',
      'mailboxes',
      'mailbox',
      'itemType',
      'membership',
    ]);
  });

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
