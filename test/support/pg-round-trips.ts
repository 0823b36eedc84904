import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

/**
 * A TCP forwarder that reads the PostgreSQL protocol both ways (PostgreSQL documentation, "Message Formats"): the
 * statements the client sends (Query 'Q', Parse 'P') and the server's ReadyForQuery ('Z'), which ends every round trip.
 */
export async function countingProxy(host: string, port: number) {
  const counts = { statements: 0, roundTrips: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    const fromClient = protocolReader(true, (type) => {
      if (type === 'Q' || type === 'P') counts.statements += 1;
    });
    const fromServer = protocolReader(false, (type) => {
      if (type === 'Z') counts.roundTrips += 1;
    });
    client.on('data', (chunk: Buffer) => {
      fromClient(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      fromServer(chunk);
      client.write(chunk);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on('error', () => s.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    counts,
    reset: () => Object.assign(counts, { statements: 0, roundTrips: 0 }),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Calls onMessage with the type of every message; the client's first message (start-up) has none. */
function protocolReader(startsUntyped: boolean, onMessage: (type: string) => void) {
  let buffer = Buffer.alloc(0);
  let untyped = startsUntyped;
  return (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const header = untyped ? 4 : 5;
      if (buffer.length < header) return;
      const length = buffer.readInt32BE(header - 4) + header - 4;
      if (buffer.length < length) return;
      if (!untyped) onMessage(String.fromCharCode(buffer[0] ?? 0));
      untyped = false;
      buffer = buffer.subarray(length);
    }
  };
}
