import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { buildHttpApp } from '../../src/http/server.js';
import { httpDeps, statusWith } from '../http/deps.js';

/**
 * deploy/kubernetes/ against the connector it runs (docs/scale-out.md, "Kubernetes"): the configuration the pods get
 * is one exh accepts, the probes reach paths src/http serves on the port the ConfigMap gives the HTTP listener, the
 * Secret's keys exist, the pods run unprivileged, the budget and the Services select the pods, and the grace period
 * outlasts the stop src/cli.ts allows itself.
 */

type Manifest = { kind: string; metadata: { name: string }; [key: string]: unknown };
type Probe = { httpGet: { path: string; port: string | number } };
type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
};
type Container = {
  name: string;
  env: EnvVar[];
  ports: Array<{ name: string; containerPort: number }>;
  readinessProbe: Probe;
  livenessProbe: Probe;
  startupProbe?: Probe;
  resources: { limits: { memory: string } };
  securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts: Array<{ name: string; mountPath: string }>;
};
type PodSpec = {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes: Array<{ name: string; configMap?: { name: string }; emptyDir?: object }>;
};
type Workload = Manifest & {
  spec: {
    serviceName?: string;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

const dir = new URL('../../deploy/kubernetes/', import.meta.url);
const files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));
const manifests: Manifest[] = files.flatMap((name) =>
  parseAllDocuments(readFileSync(new URL(name, dir), 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new Error(`${name}: ${document.errors[0]?.message}`);
    return document.toJS() as Manifest;
  }),
);
const ofKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const one = <T extends Manifest>(kind: string, name?: string): T => {
  const found = ofKind(kind).filter((m) => name === undefined || m.metadata.name === name);
  if (found.length !== 1) throw new Error(`deploy/kubernetes has ${found.length} ${kind}${name ? ` ${name}` : ''}`);
  return found[0] as T;
};

const workloads = [...ofKind('StatefulSet'), ...ofKind('Deployment')] as Workload[];
const workload = workloads[0] as Workload;
const pod = workload.spec.template.spec;
const container = pod.containers.find((c) => c.name === 'exh') as Container;
const secret = one<Manifest & { metadata: { name: string }; stringData: Record<string, string> }>('Secret');
const configMap = ofKind('ConfigMap') as Array<Manifest & { data: Record<string, string> }>;

/** The ENV lines of deploy/Containerfile's image, which the pods inherit. */
function imageEnvironment(): Record<string, string> {
  const text = readFileSync(new URL('../../deploy/Containerfile', import.meta.url), 'utf8');
  const block = /^ENV ((?:.*\\\n)*.*)$/m.exec(text.split(/^FROM .*$/m).at(-1) ?? '')?.[1] ?? '';
  return Object.fromEntries(
    block
      .split(/\\\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .map((pair) => pair.split('=', 2) as [string, string]),
  );
}

/** What the container's environment becomes in a pod named exh-0 at 10.1.2.3, with the example Secret. */
function podEnvironment(): Record<string, string> {
  const fields: Record<string, string> = { 'metadata.name': 'exh-0', 'status.podIP': '10.1.2.3' };
  const env: Record<string, string> = { ...imageEnvironment() };
  for (const variable of container.env) {
    const from = variable.valueFrom;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (from?.secretKeyRef) {
      expect(from.secretKeyRef.name, variable.name).toBe(secret.metadata.name);
      const value = secret.stringData[from.secretKeyRef.key];
      if (value === undefined) throw new Error(`${variable.name}: the Secret has no key ${from.secretKeyRef.key}`);
      env[variable.name] = value;
    } else if (from?.fieldRef) {
      const value = fields[from.fieldRef.fieldPath];
      if (value === undefined) throw new Error(`${variable.name}: no sample for ${from.fieldRef.fieldPath}`);
      env[variable.name] = value;
    } else throw new Error(`${variable.name}: neither a value, a secretKeyRef nor a fieldRef`);
  }
  return env;
}

const scratch = mkdtempSync(join(tmpdir(), 'exh-k8s-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The configuration exh-0 starts with: the mounted ConfigMap's file under the environment, as exh start reads it. */
function podConfig() {
  const env = podEnvironment();
  const configPath = env.EXH_CONFIG as string;
  const mount = container.volumeMounts.find((m) => m.mountPath === dirname(configPath));
  const volume = pod.volumes.find((v) => v.name === mount?.name);
  const map = configMap.find((m) => m.metadata.name === volume?.configMap?.name);
  const text = map?.data[basename(configPath)];
  if (text === undefined) throw new Error(`EXH_CONFIG ${configPath} is no key of a ConfigMap mounted at its directory`);
  const file = join(scratch, basename(configPath));
  writeFileSync(file, text, { mode: 0o600 });
  const { EXH_CONFIG: _named, ...rest } = env;
  return loadConfig({ file, env: rest }).config;
}

/** The stop exh allows itself after SIGTERM before it exits anyway (src/cli.ts), in milliseconds. */
function stopDeadlineMs(): number {
  const cli = readFileSync(new URL('../../src/cli.ts', import.meta.url), 'utf8');
  const match = /Did not stop within[^\n]*\n\s*process\.exit\([^)]*\);\s*\},\s*([\d_]+)\)/.exec(cli);
  if (!match?.[1]) throw new Error('src/cli.ts: the stop deadline after SIGTERM was not found');
  return Number(match[1].replaceAll('_', ''));
}

describe('deploy/kubernetes', () => {
  it('is valid YAML throughout, with one workload running the exh container', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(workloads).toHaveLength(1);
    expect(container).toBeDefined();
    expect(ofKind('PodDisruptionBudget')).toHaveLength(1);
  });

  it('gives each pod a configuration exh accepts, clustered, with the pod name as instance id', () => {
    const config = podConfig();
    expect(config.cluster?.instanceId).toBe('exh-0');
    expect(config.cluster?.address).toBe('10.1.2.3');
    expect(config.cluster?.port).toBe(config.listeners.database.port);
    expect(config.listeners.database.token).toBe(secret.stringData.EXH_LISTENERS_DATABASE_TOKEN);
    // Reachable from the kubelet and the other pods, not only from inside the container.
    expect(config.listeners.http.host).toBe('0.0.0.0');
    expect(config.listeners.database.host).toBe('0.0.0.0');
  });

  it('probes paths src/http serves, on the port the HTTP listener is configured with', async () => {
    const config = podConfig();
    const probes = { readiness: container.readinessProbe, liveness: container.livenessProbe };
    const startup = container.startupProbe;
    for (const [what, probe] of Object.entries({ ...probes, ...(startup ? { startup } : {}) })) {
      const port = probe.httpGet.port;
      const number = typeof port === 'number' ? port : container.ports.find((p) => p.name === port)?.containerPort;
      expect(number, `${what} probe's port`).toBe(config.listeners.http.port);
    }
    const { deps } = httpDeps({ status: () => statusWith({ ready: true }) });
    const up = buildHttpApp(deps);
    const { deps: lost } = httpDeps({ status: () => statusWith({ ready: false }) });
    const down = buildHttpApp(lost);
    // The kubelet's Host is the pod's IP address.
    const get = (app: typeof up, url: string) => app.inject({ method: 'GET', url, headers: { host: '10.1.2.3:8080' } });
    try {
      for (const probe of [container.readinessProbe, container.livenessProbe, ...(startup ? [startup] : [])]) {
        expect((await get(up, probe.httpGet.path)).statusCode, probe.httpGet.path).toBe(200);
      }
      // Readiness follows the database; liveness does not (a database outage never restarts a pod).
      expect((await get(down, container.readinessProbe.httpGet.path)).statusCode).toBe(503);
      expect((await get(down, container.livenessProbe.httpGet.path)).statusCode).toBe(200);
    } finally {
      await up.close();
      await down.close();
    }
  });

  it('takes only keys the example Secret has', () => {
    const referenced = container.env.flatMap((v) => (v.valueFrom?.secretKeyRef ? [v.valueFrom.secretKeyRef.key] : []));
    expect(referenced.length).toBeGreaterThan(0);
    for (const key of referenced) expect(Object.keys(secret.stringData), key).toContain(key);
    expect(referenced).toContain('EXH_LISTENERS_DATABASE_TOKEN');
  });

  it("runs as the image's unprivileged user on a read-only root file system", () => {
    const containerfile = readFileSync(new URL('../../deploy/Containerfile', import.meta.url), 'utf8');
    expect(containerfile).toMatch(/^USER node$/m);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    // The node user of the official Node.js images is uid 1000.
    expect(pod.securityContext.runAsUser).toBe(1000);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    // What the image writes to (its working directory, Node's temporary files) is a volume.
    const writable = container.volumeMounts.map((m) => m.mountPath);
    expect(writable).toEqual(expect.arrayContaining(['/var/lib/exh', '/tmp']));
  });

  it('selects the pods from the disruption budget and both Services', () => {
    const labels = workload.spec.template.metadata.labels;
    const selects = (selector: Record<string, string>) =>
      Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(selects(workload.spec.selector.matchLabels)).toBe(true);
    const pdb = one<Manifest & { spec: { selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget');
    expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
    const services = ofKind('Service') as Array<
      Manifest & {
        spec: { clusterIP?: string; selector: Record<string, string>; ports: Array<{ targetPort: string }> };
      }
    >;
    expect(services.length).toBeGreaterThanOrEqual(2);
    const portNames = container.ports.map((p) => p.name);
    for (const service of services) {
      expect(selects(service.spec.selector), service.metadata.name).toBe(true);
      for (const port of service.spec.ports) expect(portNames).toContain(port.targetPort);
    }
    if (workload.kind === 'StatefulSet') {
      const governing = services.find((s) => s.metadata.name === workload.spec.serviceName);
      expect(governing?.spec.clusterIP).toBe('None');
    }
  });

  it("gives a pod longer to stop than exh's own deadline after SIGTERM", () => {
    expect(stopDeadlineMs()).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(stopDeadlineMs());
  });

  it('caps the heap below the memory limit', () => {
    const options = container.env.find((v) => v.name === 'NODE_OPTIONS')?.value ?? '';
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(options)?.[1]);
    const limit = /^(\d+)Mi$/.exec(container.resources.limits.memory);
    expect(heapMiB).toBeGreaterThan(0);
    expect(limit).not.toBeNull();
    expect(heapMiB).toBeLessThan(Number(limit?.[1]));
  });
});
