import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The sync core's split (docs/architecture.md, "The layers"): src/sync/decisions/ is pure — it imports values only from
 * other decisions, the item definitions and the pure encoders beside the database port, and types from the ports —
 * while src/sync/executors/ carries the decisions out through the ports. A decision that reached for a port's
 * implementation, a logger or an executor would fail here.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const decisions = 'src/sync/decisions';

/** Files a decision may import values from (everything else: `import type` only). */
const pureValueSources = [/^src\/sync\/decisions\//, /^src\/items\//, /^src\/db\/attachment-info\.ts$/];

function imports(file: string): Array<{ target: string; typeOnly: boolean }> {
  const text = readFileSync(join(root, file), 'utf8');
  const found: Array<{ target: string; typeOnly: boolean }> = [];
  for (const match of text.matchAll(/^import\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gms)) {
    const specifier = match[2] as string;
    const typeOnly = match[1] !== undefined;
    if (!specifier.startsWith('.')) {
      found.push({ target: specifier, typeOnly });
      continue;
    }
    const target = relative(root, resolve(dirname(join(root, file)), specifier)).replace(/\.js$/, '.ts');
    found.push({ target, typeOnly });
  }
  return found;
}

describe('src/sync/decisions', () => {
  const files = readdirSync(join(root, decisions))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => `${decisions}/${name}`);

  it('holds the pure decisions of the sync core', () => {
    expect(files.map((file) => file.slice(decisions.length + 1)).sort()).toEqual([
      'backoff.ts',
      'conflicts.ts',
      'echo.ts',
      'folders.ts',
      'map-item.ts',
      'plan.ts',
      'watermark.ts',
    ]);
  });

  it('imports values only from other decisions, the item definitions and pure encoders; the ports as types', () => {
    const offending = files.flatMap((file) =>
      imports(file)
        .filter(({ target, typeOnly }) => !typeOnly && !pureValueSources.some((pattern) => pattern.test(target)))
        .map(({ target }) => `${file} → ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('never imports an executor', () => {
    const offending = files.flatMap((file) =>
      imports(file)
        .filter(({ target }) => target.startsWith('src/sync/executors/'))
        .map(({ target }) => `${file} → ${target}`),
    );
    expect(offending).toEqual([]);
  });
});
