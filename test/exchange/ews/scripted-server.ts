import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import type { SoapTarget } from '../../../src/exchange/ews/soap.js';
import { EwsTransport } from '../../../src/exchange/ews/transport.js';

/** A request as the scripted server received it. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body: string;
}

/**
 * A real HTTP server on a free port that answers each POST as the test's script says, and keeps what it was sent:
 * for the adapter's hand-written requests (SOAP, GetFolder, GetItem, Autodiscover) where the emulator would not say
 * what a test needs to see, such as a fault for one folder of several or a redirect. Closed after the file.
 */
export async function scriptedServer(script: (request: Received) => Answer) {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const seen = { path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(seen);
      const answer = script(seen);
      response.writeHead(answer.status ?? 200, { 'content-type': 'text/xml; charset=utf-8', ...answer.headers });
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { base, received };
}

/** The adapter's transport as createEwsExchange builds it, with Basic authentication; closed after the file. */
export function testTransport(timeoutMs = 5_000): EwsTransport {
  const transport = new EwsTransport({
    timeoutMs,
    ignoreSsl: false,
    authorization: `Basic ${Buffer.from('svc@contoso.test:pw').toString('base64')}`,
    account: 'svc@contoso.test',
  });
  afterAll(() => transport.close());
  return transport;
}

/** Where the adapter sends alice's requests on the scripted server at `base`, as the service account. */
export function aliceTarget(base: string): SoapTarget {
  return {
    url: `${base}/EWS/Exchange.asmx`,
    user: 'alice@contoso.test',
    account: 'svc@contoso.test',
    version: 'Exchange2013_SP1',
  };
}

/** A SOAP envelope around an EWS response body, as Exchange answers. */
export function soapAnswer(body: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" ' +
    'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Body>' +
    `${body}</s:Body></s:Envelope>`
  );
}
