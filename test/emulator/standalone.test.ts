import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The emulator stands apart from the connector (docs/emulator.md): it imports nothing of the connector's, only its own
 * files, Node's modules and the npm packages listed here; the connector reaches it only through src/load-emulator.ts
 * (`exh demo`, `exh emulator`) and the demo's types. Tests and benchmarks may import it freely.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const emulator = join(root, 'emulator');

/** The npm packages the emulator uses; a new one is a decision, made here. */
const emulatorPackages = [
  // Types only (import type): the Graph emulator's payload shapes.
  '@microsoft/microsoft-graph-types',
  'fast-xml-parser',
  'fastify',
  'httpntlm',
  'jose',
  'rrule',
  'windows-iana',
  'xmllint-wasm',
  'zod',
];

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.[cm]?[jt]s$/.test(name) && !name.endsWith('.d.ts'))
    .map((name) => join(folder, name));
}

/** Every specifier a file imports or re-exports, statically, with a literal `import()` or with `require()`. */
function specifiers(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles.map((imported) => imported.fileName);
}

/** The package a bare specifier names: `fastify`, `@scope/name` (not its subpath). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

describe('the emulator on its own', () => {
  const files = sourceFiles(emulator);

  it('has its sources in emulator/', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files).toContain(join(emulator, 'index.ts'));
  });

  it('imports only its own files, Node and its npm packages: nothing of the connector', () => {
    const declared = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const installed = new Set([
      ...Object.keys(declared.dependencies ?? {}),
      ...Object.keys(declared.devDependencies ?? {}),
    ]);
    const outside: string[] = [];
    for (const file of files) {
      for (const specifier of specifiers(file)) {
        const where = `${relative(root, file)}: ${specifier}`;
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier);
          if (!target.startsWith(emulator + sep)) outside.push(`${where} (resolves to ${relative(root, target)})`);
        } else if (isBuiltin(specifier)) {
          if (!specifier.startsWith('node:')) outside.push(`${where} (write node:${specifier})`);
        } else if (!emulatorPackages.includes(packageOf(specifier))) {
          outside.push(`${where} (not one of the emulator's packages: add it to emulatorPackages if it should be)`);
        } else if (!installed.has(packageOf(specifier))) {
          outside.push(`${where} (not in package.json)`);
        }
      }
    }
    expect(outside).toEqual([]);
  });

  it('is reached from the connector only through src/load-emulator.ts and the demo', () => {
    const reaching = ['src', 'actors', 'machines']
      .flatMap((folder) => sourceFiles(join(root, folder)))
      .filter((file) =>
        specifiers(file).some(
          (specifier) =>
            specifier.startsWith('.') && `${resolve(dirname(file), specifier)}${sep}`.startsWith(emulator + sep),
        ),
      )
      .map((file) => relative(root, file).split(sep).join('/'))
      .sort();
    // src/demo-activity.ts imports the admin API's type only; src/demo.ts loads the emulator through load-emulator.
    expect(reaching).toEqual(['src/demo-activity.ts', 'src/load-emulator.ts']);
  });
});
