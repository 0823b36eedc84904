import { type IncomingMessage, request } from 'node:http';
import type { RunningEmulator } from '../../../emulator/index.js';
import { basic, envelopeOf } from './harness.js';

/**
 * A raw GetStreamingEvents client: it reads the chunked response as it arrives and splits it into envelopes, so tests
 * see exactly what goes over the wire (the library's own streaming reader drops envelopes that share a chunk).
 */
export interface StreamClient {
  status: number;
  headers: IncomingMessage['headers'];
  envelopes: string[];
  /** Everything received, as text. */
  text: string;
  chunks: number;
  /** Resolves with the first envelope (from `from` on) that matches. */
  next(match: (envelope: string) => boolean, from?: number): Promise<string>;
  ended: Promise<void>;
  close(): void;
}

export async function openStream(
  emulator: RunningEmulator,
  user: string,
  subscriptionIds: string[],
  timeoutMinutes = 30,
): Promise<StreamClient> {
  const body = envelopeOf(
    `<t:RequestServerVersion Version="Exchange2013_SP1"/><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>${user}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`,
    `<m:GetStreamingEvents><m:SubscriptionIds>${subscriptionIds.map((id) => `<t:SubscriptionId>${id}</t:SubscriptionId>`).join('')}</m:SubscriptionIds><m:ConnectionTimeout>${timeoutMinutes}</m:ConnectionTimeout></m:GetStreamingEvents>`,
  );
  return new Promise((resolve, reject) => {
    const req = request(emulator.url, {
      method: 'POST',
      headers: {
        'content-type': 'text/xml; charset=utf-8',
        authorization: basic(emulator.serviceAccount, emulator.password),
        'x-anchormailbox': user,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let buffer = '';
      const waiters = new Set<() => void>();
      let endResolve: () => void = () => {};
      const ended = new Promise<void>((r) => {
        endResolve = r;
      });
      const client: StreamClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        envelopes: [],
        text: '',
        chunks: 0,
        next(match, from = 0) {
          return new Promise((resolveMatch, rejectMatch) => {
            const check = () => {
              const found = client.envelopes.slice(from).find(match);
              if (found !== undefined) {
                waiters.delete(check);
                resolveMatch(found);
              } else if (res.complete) {
                waiters.delete(check);
                rejectMatch(
                  new Error(`stream ended without a matching envelope; got:\n${client.envelopes.join('\n')}`),
                );
              }
            };
            waiters.add(check);
            check();
          });
        },
        ended,
        close: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        client.chunks++;
        client.text += chunk;
        buffer += chunk;
        for (;;) {
          const end = buffer.indexOf('</Envelope>');
          if (end < 0) break;
          client.envelopes.push(buffer.slice(0, end + '</Envelope>'.length));
          buffer = buffer.slice(end + '</Envelope>'.length);
        }
        for (const wake of [...waiters]) wake();
      });
      res.on('end', () => {
        for (const wake of [...waiters]) wake();
        endResolve();
      });
      res.on('close', () => endResolve());
      resolve(client);
    });
    req.end(body);
  });
}
