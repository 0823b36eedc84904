import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/package-root.js';

describe('packageRoot', () => {
  it("is exh's own folder, found upwards from the module: where package.json and the dashboard ship", () => {
    expect(packageRoot.href).toBe(new URL('../', import.meta.url).href);
    expect(JSON.parse(readFileSync(new URL('package.json', packageRoot), 'utf8')).name).toBe('exh');
    expect(existsSync(fileURLToPath(new URL('src/dashboard/index.html', packageRoot)))).toBe(true);
  });
});
