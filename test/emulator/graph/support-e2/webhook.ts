import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';

/**
 * A subscriber's endpoint for Graph change notifications, as a connector would run it, over real HTTP: it answers the
 * validation handshake and the notification POSTs as the test decides, and records what came.
 */

export type Answer =
  /** 200 text/plain echoing the validation token; 202 for notifications. */
  | 'accept'
  /** Never answers (until the receiver closes): a slow endpoint. */
  | 'hang'
  /** The validation token answered wrongly. */
  | 'wrongToken'
  | number;

export interface Received {
  path: string;
  validationToken: string | null;
  body: string;
  contentType: string | undefined;
}

export interface Webhook {
  /** http://127.0.0.1:PORT/notify */
  url: string;
  /** http://127.0.0.1:PORT/lifecycle */
  lifecycleUrl: string;
  received: Received[];
  /** How validation requests are answered. */
  validation: Answer;
  /** How notification POSTs to /notify are answered. */
  notifications: Answer;
  /** How lifecycle notifications to /lifecycle are answered. */
  lifecycleNotifications: Answer;
  /** Every change notification (the `value` items) POSTed to /notify, in order. */
  changes(): Record<string, unknown>[];
  /** Every lifecycle notification POSTed to /lifecycle. */
  lifecycle(): Record<string, unknown>[];
  /** Notification POSTs (not validations) to /notify. */
  posts(): Received[];
  /** Answers every request left hanging (with `status`), e.g. before changing the mode. */
  release(status?: number): void;
}

export async function startWebhook(): Promise<Webhook> {
  const hanging = new Set<ServerResponse>();
  const hook: Webhook = {
    url: '',
    lifecycleUrl: '',
    received: [],
    validation: 'accept',
    notifications: 'accept',
    lifecycleNotifications: 'accept',
    changes: () => hook.posts().flatMap((r) => (JSON.parse(r.body) as { value: Record<string, unknown>[] }).value),
    lifecycle: () =>
      hook.received
        .filter((r) => r.path === '/lifecycle' && r.validationToken === null)
        .flatMap((r) => (JSON.parse(r.body) as { value: Record<string, unknown>[] }).value),
    posts: () => hook.received.filter((r) => r.path === '/notify' && r.validationToken === null),
    release(status = 202) {
      for (const response of hanging) response.writeHead(status).end();
      hanging.clear();
    },
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://receiver');
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const validationToken = url.searchParams.get('validationToken');
      hook.received.push({ path: url.pathname, validationToken, body, contentType: request.headers['content-type'] });
      const mode =
        validationToken !== null
          ? hook.validation
          : url.pathname === '/lifecycle'
            ? hook.lifecycleNotifications
            : hook.notifications;
      if (mode === 'hang') {
        hanging.add(response);
        return;
      }
      if (typeof mode === 'number') {
        response.writeHead(mode).end();
        return;
      }
      if (validationToken !== null) {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(mode === 'wrongToken' ? `${validationToken}x` : validationToken);
        return;
      }
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  hook.url = `http://127.0.0.1:${port}/notify`;
  hook.lifecycleUrl = `http://127.0.0.1:${port}/lifecycle`;
  afterAll(async () => {
    hook.release(503);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return hook;
}
