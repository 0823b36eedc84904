import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envLeaves } from '../../src/config/load.js';

describe('docs/configuration.md', () => {
  it('lists every key with its environment variable', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const leaf of envLeaves()) {
      const row = new RegExp(`\\|\\s*\`${leaf.path.join('\\.')}\`\\s*\\|\\s*\`${leaf.env}\`\\s*\\|`);
      expect(doc, `${leaf.path.join('.')} (${leaf.env}) is missing from docs/configuration.md`).toMatch(row);
    }
  });
});
