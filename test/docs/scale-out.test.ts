import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { envLeaves, loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { errorCatalogue } from '../../src/errors.js';
import { exhBin } from '../support/exh-process.js';

/**
 * docs/scale-out.md is an operator's guide to several instances: every configuration key, error code, `EXH_…` variable,
 * log event and `exh` command it names must exist as named, the defaults it states must be the schema's, its systemd
 * example must be a configuration exh accepts with the deploy/systemd files, and the Kubernetes example must stay within
 * the EWS budget the page sizes it by, so that the page cannot drift from the code and the manifests.
 */
const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const page = read('docs/scale-out.md');
const leaves = envLeaves();
const leafPaths = leaves.map((leaf) => leaf.path.join('.'));
const topLevelKeys = Object.keys(configSchema.shape);
/** The events the membership machine logs (`cluster.joined`, …): dot-case like a key, told apart by this list. */
const clusterEvents = [
  ...new Set([...read('machines/membership.machine.ts').matchAll(/event: '(cluster\.[A-Za-z]+)'/g)].map((m) => m[1])),
];

function codeBlocks(language: string): string[] {
  return [...page.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((match) =>
    // Blocks inside a numbered list are indented.
    (match[1] ?? '').replace(/^ {3}/gm, ''),
  );
}

/** The sections of the page, as other files cite them. */
const headings = new Set([...page.matchAll(/^#{2,3} (.+)$/gm)].map((match) => match[1]));

/** Every source, documentation and deployment file that may cite a section of the page. */
function citingFiles(): string[] {
  const base = root.pathname;
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(join(base, folder), { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|md|sql|ya?ml|conf|example|service)$/.test(entry.name)) files.push(path);
    }
  };
  for (const folder of ['src', 'machines', 'actors', 'docs', 'deploy', 'test']) walk(folder);
  return files.map((path) => join(base, path));
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

const scratch = mkdtempSync(join(tmpdir(), 'exh-scale-out-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** KEY=value lines of an environment file (systemd's EnvironmentFile=, or Environment= lines of a unit). */
function environmentOf(text: string, prefix = ''): Record<string, string> {
  const pairs = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith(prefix) && !line.startsWith('#'))
    .map((line) => line.slice(prefix.length))
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => line.split('=', 2) as [string, string]);
  return Object.fromEntries(pairs);
}

describe('docs/scale-out.md', () => {
  it('names only configuration keys the schema has (a key or a group of keys)', () => {
    const keyPattern = new RegExp(`\`((?:${topLevelKeys.join('|')})(?:\\.[A-Za-z0-9]+)+)\``, 'g');
    const keys = [...new Set([...page.matchAll(keyPattern)].map((match) => match[1] ?? ''))].filter(
      (key) => !clusterEvents.includes(key),
    );
    expect(keys).toEqual(
      expect.arrayContaining([
        'cluster.instanceId',
        'cluster.leaseSeconds',
        'cluster.heartbeatSeconds',
        'cluster.address',
        'cluster.port',
        'exchange.concurrency',
        'listeners.database.token',
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
    expect(named).toEqual(expect.arrayContaining(['EXH_CLUSTER_LEASE_LOST', 'EXH_CLUSTER_INSTANCE_ID']));
    for (const name of named) {
      const known = name in errorCatalogue || variables.has(name);
      expect(known, `${name} is neither an error code (src/errors.ts) nor a key's variable`).toBe(true);
    }
  });

  it('states the defaults of the cluster timings and the Exchange pool as the schema has them', () => {
    const cluster = configSchema.shape.cluster.unwrap().parse({});
    expect(page).toContain(`\`cluster.leaseSeconds\` (default ${cluster.leaseSeconds})`);
    expect(page).toContain(`\`cluster.heartbeatSeconds\` (default ${cluster.heartbeatSeconds})`);
    const exchange = configSchema.shape.exchange.parse({ impersonationUser: 'a@b.c', impersonationPassword: 'x' });
    expect(page).toContain(`\`exchange.concurrency\` (default ${exchange.concurrency})`);
  });

  it('has a troubleshooting row for every cluster event the membership machine logs, and no other', () => {
    const emitted = clusterEvents;
    expect(emitted.length).toBeGreaterThanOrEqual(5);
    const rows = page
      .split('\n')
      .flatMap((line) => (/^\| `cluster\.[A-Za-z]+` \|/.exec(line) ? [line.split('`')[1]] : []));
    expect(rows.sort()).toEqual([...emitted].sort());
  });

  it('has every section that the code, the manifests and the other pages cite by name', () => {
    let cited = 0;
    for (const file of citingFiles()) {
      const text = readFileSync(file, 'utf8').replace(/['`]\s*\+\s*['`]/g, '');
      for (const match of text.matchAll(/scale-out\.md[,;:]? *"([^"]+)"/g)) {
        cited += 1;
        expect(headings.has(match[1]), `${file} cites "${match[1]}", which is no heading of the page`).toBe(true);
      }
    }
    // The page's own references to its sections, ("Throttling budgets").
    for (const match of page.matchAll(/\("([^"]+)"\)|by "([^"]+)"/g)) {
      const name = match[1] ?? match[2] ?? '';
      cited += 1;
      expect(headings.has(name), `the page refers to "${name}", which is none of its headings`).toBe(true);
    }
    expect(cited).toBeGreaterThan(5);
  });

  it("gives a systemd host a configuration exh accepts: the page's file, the host's secrets and deploy/systemd", () => {
    const [file] = codeBlocks('json');
    expect(file).toBeDefined();
    const path = join(scratch, 'crm.config.json');
    writeFileSync(path, file as string, { mode: 0o600 });
    // What deploy/exh@.service and deploy/systemd/cluster.conf set, %H-%i as for exh@crm on host db-app-1.
    const unit = environmentOf(read('deploy/exh@.service'), 'Environment=');
    const dropIn = environmentOf(
      read('deploy/systemd/cluster.conf').replaceAll('%H-%i', 'db-app-1-crm'),
      'Environment=',
    );
    const host = environmentOf(read('deploy/systemd/cluster.env.example'));
    const secrets = {
      EXH_DATABASE_CONNECTION_STRING: 'postgres://exh:secret@db.contoso.com:5432/crm',
      EXH_LISTENERS_DATABASE_TOKEN: 'a-token-the-three-hosts-share',
      EXH_EXCHANGE_IMPERSONATION_PASSWORD: 'secret',
    };
    const { config } = loadConfig({ file: path, env: { ...unit, ...secrets, ...dropIn, ...host } });
    expect(config.cluster).toEqual({
      instanceId: 'db-app-1-crm',
      leaseSeconds: 20,
      heartbeatSeconds: 5,
      address: host.EXH_CLUSTER_ADDRESS,
      port: config.listeners.database.port,
    });
    expect(config.listeners.database.host).toBe('0.0.0.0');
    // The drop-in's instance id alone turns the cluster on, as the page says.
    const bare = JSON.parse(file as string) as Record<string, unknown>;
    delete bare.cluster;
    writeFileSync(path, JSON.stringify(bare), { mode: 0o600 });
    expect(loadConfig({ file: path, env: { ...secrets, ...dropIn } }).config.cluster?.leaseSeconds).toBe(20);
  });

  it('keeps the Kubernetes example within the EWS concurrency budget the page sizes it by', () => {
    const budget = Number(
      /`EWSMaxConcurrency`, separate from the impersonated users' own: (\d+) by default/.exec(page)?.[1],
    );
    expect(budget).toBeGreaterThan(0);
    const statefulSet = parseAllDocuments(read('deploy/kubernetes/statefulset.yaml'))
      .map((document) => document.toJS() as { kind: string; spec: { replicas: number } })
      .find((manifest) => manifest.kind === 'StatefulSet');
    const configMap = parseYaml(read('deploy/kubernetes/configmap.yaml')) as { data: Record<string, string> };
    const pod = parseYaml(configMap.data['exh.config.yaml'] as string) as { exchange: { concurrency: number } };
    const total = (statefulSet?.spec.replicas ?? 0) * pod.exchange.concurrency;
    expect(total).toBeGreaterThan(0);
    expect(total, 'replicas × exchange.concurrency').toBeLessThanOrEqual(budget);
  });

  it('tells to run only commands and flags that exh has', async () => {
    const invocations = [...page.matchAll(/`exh ([^`\n#]+)`/g)].map((match) => match[1] ?? '');
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
    const commands = [...seen.values()];
    expect(commands.map((entry) => entry.command.join(' '))).toEqual(
      expect.arrayContaining(['db install', 'config check', 'start']),
    );
    const answers = await Promise.all(commands.map((entry) => help(entry.command)));
    commands.forEach((entry, index) => {
      const answer = answers[index];
      const name = `exh ${entry.command.join(' ')}`;
      expect(answer?.code, `${name} --help: ${answer?.text}`).toBe(0);
      expect(answer?.text, `${name} is not a command of exh`).toContain(`Usage: ${name} `);
      for (const flag of entry.flags) expect(answer?.text, `${name} has no ${flag}`).toContain(flag);
    });
  }, 60_000);
});
