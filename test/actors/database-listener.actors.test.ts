import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, waitFor } from 'xstate';
import { createDatabaseListenerActor, type DatabaseListenerDeps } from '../../actors/database-listener.actors.js';
import type { SerializedError } from '../../machines/report.js';
import { configSchema } from '../../src/config/schema.js';
import { errors } from '../../src/errors.js';
import { Connections } from '../../src/mailbox/connections.js';
import type { ControlPort } from '../../src/ports/control.port.js';
import type { DatabasePort } from '../../src/ports/database.port.js';
import { sendRequest } from '../../src/protocol/client.js';
import type { DatabaseListener } from '../../src/protocol/listener.js';
import { recordingLogger, token } from '../protocol/helpers.js';

/** The real listener actor under a parent that keeps what it sends back, on port 0. */
async function listenerActor(overrides: Partial<DatabaseListenerDeps> = {}) {
  let listening!: (address: { host: string; port: number }) => void;
  const address = new Promise<{ host: string; port: number }>((resolve) => {
    listening = resolve;
  });
  const tracked: DatabaseListener[] = [];
  const logic = createDatabaseListenerActor({
    enabled: true,
    host: '127.0.0.1',
    port: 0,
    token,
    // Neither is reached by the requests below: no mailbox is connected.
    db: {} as DatabasePort,
    control: {} as ControlPort,
    connections: new Connections(),
    isRegistered: (user) => user.toLowerCase() === 'alice@contoso.test',
    logger: recordingLogger().logger,
    onListening: (started) => listening(started),
    track: (listener) => void tracked.push(listener),
    ...overrides,
  });
  const parent = setup({
    types: {
      context: {} as { failed: SerializedError | null },
      events: {} as { type: string; error?: SerializedError },
    },
    actors: { listener: logic },
  }).createMachine({
    context: { failed: null },
    invoke: { src: 'listener' },
    on: { 'listener.failed': { actions: assign({ failed: ({ event }) => event.error ?? null }) } },
  });
  const actor = createActor(parent).start();
  return { actor, address, tracked };
}

describe('database listener actor', () => {
  it('answers an unregistered user with exit code 1 and a registered but unconnected one with 522', async () => {
    const { actor, address, tracked } = await listenerActor();
    const target = await address;
    const send = (user: string) =>
      Promise.all([
        sendRequest(
          target,
          { type: 'item', token, action: 'chg', itemType: 'email', user, fields: { item_id: 'AAMk1' } },
          { timeoutMs: 5_000 },
        ),
        sendRequest(
          target,
          { type: 'getAttachment', token, user, itemId: 'AAMk1', attachmentId: 'AAMkA1' },
          { timeoutMs: 5_000 },
        ),
        sendRequest(
          target,
          { type: 'addAttachment', token, user, itemId: 'AAMk1', name: 'a.txt', contentBase64: 'aGk=' },
          { timeoutMs: 5_000 },
        ),
      ]);
    try {
      for (const reply of await send('mallory@contoso.test')) {
        expect(reply).toEqual({
          exitCode: 1,
          outputValue: null,
          errorMessage: errors.mailboxUnknown('mallory@contoso.test').message,
        });
      }
      // Registered (whatever the case), not connected yet: try again later.
      for (const reply of await send('Alice@Contoso.test')) {
        expect(reply.exitCode).toBe(522);
        expect(reply.errorMessage).toContain('not connected');
      }
    } finally {
      actor.stop();
      await Promise.all(tracked.map((listener) => listener.close()));
    }
  });

  it('names the TLS key and the file it cannot read, and fails the listener (the service then stops)', async () => {
    const certFile = join('/nonexistent', 'exh-cert.pem');
    const { actor } = await listenerActor({ tls: { certFile, keyFile: '/nonexistent/exh-key.pem' } });
    const snapshot = await waitFor(actor, (s) => s.context.failed !== null, { timeout: 5_000 });
    actor.stop();
    const failed = snapshot.context.failed;
    expect(failed?.code).toBe('EXH_LISTENER_TLS_UNREADABLE');
    expect(failed?.message).toContain(`listeners.database.tls.certFile ${certFile} cannot be read`);
    expect(failed?.message).toContain('ENOENT');
    expect(failed?.message).not.toContain('Free the port');
  });

  it('takes the limits from listeners.database, as the runtime spreads them in', async () => {
    const configured = configSchema.parse({
      database: { type: 'pglite' },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'x' },
      listeners: { database: { authTimeoutMs: 200 } },
    }).listeners.database;
    expect(configured).toMatchObject({ authTimeoutMs: 200, maxUnauthenticated: 32, maxConnections: 256 });
    const { actor, address, tracked } = await listenerActor({ ...configured, host: '127.0.0.1', port: 0, token });
    try {
      const { port } = await address;
      const idle = connect({ host: '127.0.0.1', port });
      const chunks: Buffer[] = [];
      idle.on('data', (chunk: Buffer) => chunks.push(chunk));
      await new Promise((resolve) => idle.once('close', resolve));
      expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toMatchObject({
        exitCode: 1,
        errorMessage: expect.stringContaining('no authenticated request within 200 ms'),
      });
    } finally {
      actor.stop();
      await Promise.all(tracked.map((listener) => listener.close()));
    }
  });
});
