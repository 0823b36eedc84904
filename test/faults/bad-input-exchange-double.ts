import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A test double in front of the emulator, for what the emulator cannot be made to send: an EWS answer with a DTD
 * (Exchange never sends one, and the emulator's answers validate against messages.xsd). Every request goes on to the
 * emulator; the answer of an operation that is poisoned comes back with a DOCTYPE declared after its XML declaration
 * and an entity reference put in place of one element's text, everything else as the emulator answered it. So the
 * only thing wrong with a poisoned answer is its DTD.
 */

export interface Poison {
  /** The DOCTYPE with its entities (billion laughs, an external entity). */
  doctype: string;
  /** The reference that replaces the text of the first `element` of the answer (`&lol9;`, `&xxe;`). */
  reference: string;
  /** The element (local name) whose text is replaced: SyncState, DisplayName, Subject, SubscriptionId. */
  element: string;
  /** HTTP status to answer with instead of the emulator's (a SOAP fault is 500). */
  status?: number;
}

export class ExchangeDouble {
  #server: Server | undefined;
  readonly #poisons = new Map<string, Poison>();
  /** Answers poisoned so far, by operation. */
  readonly poisoned = new Map<string, number>();

  constructor(readonly emulator: { host: string; port: number }) {}

  /** The URL to use instead of the emulator's: the same paths. */
  url(emulatorUrl: string): string {
    const url = new URL(emulatorUrl);
    if (!this.#server) throw new Error('open() the double first');
    url.port = String((this.#server.address() as AddressInfo).port);
    return url.toString();
  }

  poison(operation: string, poison: Poison): void {
    this.#poisons.set(operation, poison);
  }

  clear(): void {
    this.#poisons.clear();
  }

  async open(): Promise<void> {
    this.#server = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const body = Buffer.concat(chunks);
        const operation = /<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)/.exec(body.toString('utf8'))?.[1] ?? '';
        const poison = this.#poisons.get(operation);
        const headers = { ...incoming.headers, 'accept-encoding': 'identity' };
        const onward = request(
          { host: this.emulator.host, port: this.emulator.port, method: incoming.method, path: incoming.url, headers },
          (answer) => {
            if (!poison) {
              outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(outgoing);
              return;
            }
            const parts: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => parts.push(chunk));
            answer.on('end', () => {
              this.poisoned.set(operation, (this.poisoned.get(operation) ?? 0) + 1);
              const text = poisonAnswer(Buffer.concat(parts).toString('utf8'), poison);
              outgoing.writeHead(poison.status ?? answer.statusCode ?? 200, {
                'content-type': 'text/xml; charset=utf-8',
                'content-length': Buffer.byteLength(text),
              });
              outgoing.end(text);
            });
          },
        );
        onward.on('error', () => outgoing.destroy());
        onward.end(body);
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

/** The answer with the DOCTYPE after its XML declaration and the reference as the text of the element. */
export function poisonAnswer(answer: string, poison: Poison): string {
  const declared = /^<\?xml[^>]*\?>/.exec(answer);
  const head = declared ? declared[0] : '';
  const rest = answer.slice(head.length);
  const element = new RegExp(`(<(?:\\w+:)?${poison.element}(?:\\s[^>]*)?>)[^<]*`);
  const replaced = element.test(rest) ? rest.replace(element, `$1${poison.reference}`) : rest;
  return `${head}${poison.doctype}${replaced}`;
}

/** Ten entities of ten references each: `&lol9;` would expand to 10⁹ × "lol", 3 GB. */
export const billionLaughs = (root: string) =>
  `<!DOCTYPE ${root} [<!ENTITY lol "lol">${Array.from(
    { length: 9 },
    (_, index) => `<!ENTITY lol${index + 1} "${`&lol${index === 0 ? '' : index};`.repeat(10)}">`,
  ).join('')}]>`;

/** An external entity naming a local file: a parser that resolves it would put the file into the answer. */
export const externalEntity = (root: string) => `<!DOCTYPE ${root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`;
