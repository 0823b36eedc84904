import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExh } from '../support/exh-process.js';
import { freePort } from '../support/net.js';

describe('exh start with a listener port already taken', () => {
  it('exits 1 with an E record naming the listener, the port and the key to change', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    const configFile = join(mkdtempSync(join(tmpdir(), 'exh-listener-')), 'exh.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        // Nothing listens here: the database stays unreachable, which must not matter for this failure.
        database: { type: 'postgres', connectionString: `postgres://exh@127.0.0.1:${await freePort()}/app` },
        exchange: { impersonationUser: 'exh-service@contoso.test', impersonationPassword: 'exh' },
        listeners: { log: { port }, database: { port: 0 }, http: { port: 0 } },
        log: { format: 'json' },
      }),
    );
    try {
      const exh = runExh(['start', '--config', configFile]);
      const { code } = await exh.exited;
      expect(code).toBe(1);
      const failure = exh.records.find((r) => r.event === 'service.failed');
      expect(failure?.cat).toBe('E');
      expect(failure?.msg).toContain(`127.0.0.1:${port}`);
      expect(failure?.msg).toContain('EADDRINUSE');
      expect(failure?.msg).toContain('listeners.log.port');
    } finally {
      blocker.close();
    }
  });

  it('exits 1 with an E record naming the TLS key and the file it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exh-listener-'));
    const configFile = join(dir, 'exh.config.json');
    const certFile = join(dir, 'missing-cert.pem');
    writeFileSync(
      configFile,
      JSON.stringify({
        database: { type: 'postgres', connectionString: `postgres://exh@127.0.0.1:${await freePort()}/app` },
        exchange: { impersonationUser: 'exh-service@contoso.test', impersonationPassword: 'exh' },
        listeners: {
          log: { enabled: false },
          database: { port: 0, tls: { certFile, keyFile: join(dir, 'missing-key.pem') } },
          http: { port: 0 },
        },
        log: { format: 'json' },
      }),
    );
    const exh = runExh(['start', '--config', configFile]);
    const { code } = await exh.exited;
    expect(code).toBe(1);
    const failure = exh.records.find((r) => r.event === 'service.failed');
    expect(failure?.cat).toBe('E');
    expect(failure?.msg).toContain(`listeners.database.tls.certFile ${certFile} cannot be read`);
    expect(failure?.msg).not.toContain('Free the port');
  });
});
