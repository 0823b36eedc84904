import { connect, createServer, type Server, type Socket } from 'node:net';

interface Link {
  client: Socket;
  /** Absent while the link is held by a stall that began before it was accepted. */
  upstream?: Socket;
}

/**
 * A TCP forwarder in front of the PostgreSQL server with the faults the database fault suite needs, each a real
 * network event for the connector's pg clients. test/support/net.ts's TcpProxy cuts by closing its listener too and
 * cannot end a stall; here the three are apart:
 *
 * - `cut()`: every open connection is reset, new ones are served at once (a terminated connection, a restarted
 *   server that is back at once);
 * - `down()` … `up()`: connections reset and new ones refused (ECONNREFUSED) for as long as it lasts: the server
 *   down, for as long as a test wants;
 * - `stall()` … `resume()`: no byte moves either way, nothing is closed, new connections are accepted and held; on
 *   `resume()` everything held flows on (a network that drops packets silently, then heals: TCP delivers what waited).
 */
export class FaultProxy {
  #server: Server | undefined;
  readonly #links = new Set<Link>();
  #stalled = false;

  constructor(
    readonly port: number,
    readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    if (this.#server) return;
    const server = createServer((client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.#server = server;
  }

  /** The server is back: connections are accepted again. */
  up(): Promise<void> {
    return this.open();
  }

  /** The server goes down: every connection reset, new ones refused until `up()`. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.cut();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Resets every open connection (the server terminated them); new ones are served. */
  cut(): void {
    this.#stalled = false;
    for (const link of this.#links) {
      link.client.destroy();
      link.upstream?.destroy();
    }
    this.#links.clear();
  }

  stall(): void {
    this.#stalled = true;
    for (const link of this.#links) {
      if (!link.upstream) continue;
      link.client.unpipe(link.upstream);
      link.upstream.unpipe(link.client);
      link.client.pause();
      link.upstream.pause();
    }
  }

  resume(): void {
    this.#stalled = false;
    for (const link of this.#links) this.#forward(link);
  }

  /** The local ports of the connections to the server: `client_port` in pg_stat_activity names their backends. */
  get upstreamPorts(): number[] {
    return [...this.#links].flatMap((link) => (link.upstream?.localPort ? [link.upstream.localPort] : []));
  }

  close(): Promise<void> {
    return this.down();
  }

  #accept(client: Socket): void {
    const link: Link = { client };
    this.#links.add(link);
    client.on('error', () => this.#drop(link));
    client.on('close', () => this.#drop(link));
    if (this.#stalled) client.pause();
    else this.#forward(link);
  }

  #forward(link: Link): void {
    if (!link.upstream) {
      const upstream = connect(this.target.port, this.target.host);
      link.upstream = upstream;
      upstream.on('error', () => this.#drop(link));
      upstream.on('close', () => this.#drop(link));
    }
    link.client.pipe(link.upstream).pipe(link.client);
  }

  #drop(link: Link): void {
    link.client.destroy();
    link.upstream?.destroy();
    this.#links.delete(link);
  }
}
