import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envLeaves } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { errorCatalogue } from '../../src/errors.js';
import { exhBin } from '../support/exh-process.js';

/**
 * docs/exchange-online.md is an administrator's guide: every configuration key, error code, `EXH_…` variable and
 * `exh` command it names must exist as named, and its configuration examples must be valid, so the page cannot drift
 * from the code.
 */
const page = readFileSync(new URL('../../docs/exchange-online.md', import.meta.url), 'utf8');
const leaves = envLeaves();
const leafPaths = leaves.map((leaf) => leaf.path.join('.'));
const topLevelKeys = Object.keys(configSchema.shape);

function codeBlocks(language: string): string[] {
  return [...page.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((match) => match[1] ?? '');
}

/** `exchange.graph.tenant`, `listeners.graph`, `exchange.graph.*`: the configuration keys the page names in code spans. */
function namedKeys(): string[] {
  const keyPattern = new RegExp(`\`((?:${topLevelKeys.join('|')})(?:\\.[A-Za-z0-9]+)+)(?:\\.\\*)?\``, 'g');
  return [...new Set([...page.matchAll(keyPattern)].map((match) => match[1] ?? ''))];
}

/** `exh sync-users`, `npm run exh -- demo --graph`: each command the page tells to run, with its flags. */
function namedCommands(): { command: string[]; flags: string[] }[] {
  const invocations = [...page.matchAll(/(?:`exh |npm run exh -- )([^`\n#]+)/g)].map((match) => match[1] ?? '');
  const seen = new Map<string, { command: string[]; flags: string[] }>();
  for (const invocation of invocations) {
    const words = invocation.trim().split(/\s+/);
    const firstFlag = words.findIndex((word) => !/^[a-z][a-z-]*$/.test(word));
    const command = firstFlag < 0 ? words : words.slice(0, firstFlag);
    const flags = words.filter((word) => /^--[a-z][a-z-]*$/.test(word));
    const entry = seen.get(command.join(' ')) ?? { command, flags: [] };
    entry.flags = [...new Set([...entry.flags, ...flags])];
    seen.set(command.join(' '), entry);
  }
  return [...seen.values()];
}

/** Every source and documentation file that may cite a section of the page: `docs/exchange-online.md, "Routing"`. */
function citingFiles(): string[] {
  const root = new URL('../../', import.meta.url).pathname;
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|md|sql)$/.test(entry.name)) files.push(path);
    }
  };
  for (const folder of ['src', 'emulator', 'machines', 'actors', 'docs']) walk(folder);
  return files.map((path) => join(root, path));
}

function help(command: string[]): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [exhBin, ...command, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    child.on('exit', (code) => resolve({ code, text }));
  });
}

describe('docs/exchange-online.md', () => {
  it('names only configuration keys the schema has (a key or a group of keys)', () => {
    const keys = namedKeys();
    expect(keys).toEqual(
      expect.arrayContaining([
        'exchange.backend',
        'exchange.graph.notificationUrl',
        'exchange.graph.clientCertificate.thumbprintSha256',
        'sync.calendarWindow.daysBack',
      ]),
    );
    for (const key of keys) {
      const known = leafPaths.some((path) => path === key || path.startsWith(`${key}.`));
      expect(known, `${key} is not a configuration key (src/config/schema.ts)`).toBe(true);
    }
  });

  it('names only error codes of the catalogue and environment variables of real keys', () => {
    const variables = new Set(leaves.map((leaf) => leaf.env));
    const named = [...new Set(page.match(/\bEXH_[A-Z0-9_]+\b/g) ?? [])];
    expect(named).toContain('EXH_EXCHANGE_GRAPH_CLIENT_SECRET');
    for (const name of named) {
      const known = name in errorCatalogue || variables.has(name);
      expect(known, `${name} is neither an error code (src/errors.ts) nor a key's variable`).toBe(true);
    }
  });

  it('has a troubleshooting row for each error Graph makes exh report', () => {
    const rows = page.split('\n').filter((line) => line.startsWith('| `EXH_'));
    for (const code of [
      'EXH_EXCHANGE_AUTH_FAILED',
      'EXH_EXCHANGE_PERMISSION_DENIED',
      'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD',
      'EXH_EXCHANGE_MAILBOX_NOT_FOUND',
      'EXH_EXCHANGE_THROTTLED',
      'EXH_EXCHANGE_UNAVAILABLE',
      'EXH_EXCHANGE_INVALID_SYNC_STATE',
      'EXH_EXCHANGE_WEBHOOK_FAILED',
    ] as const) {
      expect(code in errorCatalogue, `${code} is not in src/errors.ts`).toBe(true);
      expect(
        rows.some((row) => row.startsWith(`| \`${code}\``)),
        `${code} has no row in "Troubleshooting"`,
      ).toBe(true);
    }
  });

  it('shows configuration examples that the schema accepts as they are', () => {
    const examples = codeBlocks('json');
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const example of examples) {
      const result = configSchema.safeParse(JSON.parse(example));
      expect(result.error?.issues ?? [], example).toEqual([]);
    }
  });

  it('has every section that the code and the other pages cite by name', () => {
    const headings = new Set([...page.matchAll(/^#{2,3} (.+)$/gm)].map((match) => match[1]));
    let cited = 0;
    for (const file of citingFiles()) {
      // A citation may be split over two concatenated string literals: 'docs/exchange-online.md, ' + '"Permissions"'.
      const text = readFileSync(file, 'utf8').replace(/['`]\s*\+\s*['`]/g, '');
      for (const match of text.matchAll(/exchange-online\.md[,;:]? *"([^"]+)"/g)) {
        cited += 1;
        expect(headings.has(match[1]), `${file} cites "${match[1]}", which is no heading of the page`).toBe(true);
      }
    }
    expect(cited).toBeGreaterThan(5);
  });

  it('tells to run only commands and flags that exh has', async () => {
    const commands = namedCommands();
    expect(commands.map((entry) => entry.command.join(' '))).toEqual(
      expect.arrayContaining(['config check', 'sync-users', 'emulator', 'demo']),
    );
    const answers = await Promise.all(commands.map((entry) => help(entry.command)));
    commands.forEach((entry, index) => {
      const answer = answers[index];
      const name = `exh ${entry.command.join(' ')}`;
      expect(answer?.code, `${name} --help: ${answer?.text}`).toBe(0);
      // An unknown command answers --help with the top-level usage, so the usage line must name the command itself.
      expect(answer?.text, `${name} is not a command of exh`).toContain(`Usage: ${name} `);
      for (const flag of entry.flags) expect(answer?.text, `${name} has no ${flag}`).toContain(flag);
    });
  }, 60_000);
});
