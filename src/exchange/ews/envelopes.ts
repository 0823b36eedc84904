/**
 * Splits the chunked body of a GetStreamingEvents response into complete SOAP envelopes. Exchange writes one envelope
 * per notification or keep-alive, but TCP and proxies join and cut writes freely: two envelopes may arrive in one
 * chunk and one envelope in many (ews-javascript-api's own reader takes one envelope per chunk and loses the rest).
 *
 * Bytes are decoded with a streaming UTF-8 decoder, so a character cut between two chunks survives. An envelope is
 * `<Envelope …>…</Envelope>` with any namespace prefix; what lies between envelopes (white space, an XML declaration)
 * is dropped. Envelopes do not nest and their text is escaped, so the first closing tag with the same prefix ends one.
 */

const envelopeStart = /<([A-Za-z_][\w.-]*:)?Envelope[\s>/]/;

export class EnvelopeSplitter {
  readonly #decoder = new TextDecoder('utf-8');
  #buffer = '';

  /** @param maxEnvelopeChars an envelope larger than this is refused (a broken stream, not a notification). */
  constructor(readonly maxEnvelopeChars = 16 * 1024 * 1024) {}

  /** Adds a chunk; returns the envelopes it completed, in order. */
  push(chunk: Uint8Array | string): string[] {
    this.#buffer += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const envelopes: string[] = [];
    for (;;) {
      const start = envelopeStart.exec(this.#buffer);
      if (!start) {
        // Keep a possible beginning of "<prefix:Envelope" that the next chunk completes.
        const lastOpen = this.#buffer.lastIndexOf('<');
        this.#buffer = lastOpen < 0 ? '' : this.#buffer.slice(lastOpen);
        break;
      }
      const closing = `</${start[1] ?? ''}Envelope>`;
      const end = this.#buffer.indexOf(closing, start.index);
      if (end < 0) {
        this.#buffer = this.#buffer.slice(start.index);
        break;
      }
      envelopes.push(this.#buffer.slice(start.index, end + closing.length));
      this.#buffer = this.#buffer.slice(end + closing.length);
    }
    if (this.#buffer.length > this.maxEnvelopeChars) {
      throw new Error(`a streaming envelope exceeds ${this.maxEnvelopeChars} characters`);
    }
    return envelopes;
  }

  /** Characters received that do not form a complete envelope yet. */
  get pending(): number {
    return this.#buffer.trim().length;
  }
}

/** The SubscriptionIds a GetStreamingEvents request names, trimmed (Exchange compares them so). */
export function subscriptionIdsOf(request: string): string[] {
  return [...request.matchAll(/<(?:[\w.-]+:)?SubscriptionId>([^<]*)<\/(?:[\w.-]+:)?SubscriptionId>/g)].map((m) =>
    (m[1] ?? '').trim(),
  );
}
