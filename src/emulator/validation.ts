import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The fidelity check: with `validateResponses` on, the emulator records the SOAP body (the operation's response
 * element) of everything it sends — responses, streaming envelopes, push notifications — and `check()` validates them
 * all against Microsoft's messages.xsd in one xmllint-wasm run (a devDependency, loaded only when checking). A failure
 * names the operation and the first schema error.
 *
 * Known departures of Exchange from its own schema, which the emulator copies on purpose, are undone before
 * validation and listed here and in docs/emulator.md:
 * - GetStreamingEvents: Exchange writes `m:Notification` inside `m:Notifications`; the schema says `t:Notification`.
 */

export const knownDeviations: { operation: string; description: string; undo: (body: string) => string }[] = [
  {
    operation: 'GetStreamingEvents',
    description: 'm:Notification inside m:Notifications, where the schema has t:Notification',
    undo: (body) =>
      body.replace(/<m:Notification>/g, '<t:Notification>').replace(/<\/m:Notification>/g, '</t:Notification>'),
  },
];

export const schemaDirectory = fileURLToPath(new URL('../../../shared/reference/ews-schema/', import.meta.url));

export interface RecordedBody {
  operation: string;
  body: string;
}

export class SchemaValidationError extends Error {
  override readonly name = 'SchemaValidationError';
}

export class ResponseRecorder {
  private bodies: RecordedBody[] = [];
  private checked = 0;

  constructor(private readonly directory = schemaDirectory) {}

  record(operation: string, body: string): void {
    this.bodies.push({ operation, body });
  }

  get count(): number {
    return this.bodies.length;
  }

  /** How many bodies were recorded per operation (so a test can see that it exercised what it meant to). */
  operations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { operation } of this.bodies) out[operation] = (out[operation] ?? 0) + 1;
    return out;
  }

  /** Validates everything recorded since the last check; throws naming the operation and the first schema error. */
  async check(): Promise<number> {
    const pending = this.bodies.slice(this.checked);
    this.checked = this.bodies.length;
    if (pending.length === 0) return 0;
    const { validateXML } = await import('xmllint-wasm');
    const schema = (name: string) => ({ fileName: name, contents: readFileSync(`${this.directory}/${name}`, 'utf8') });
    const files = pending.map(({ operation, body }, index) => {
      const deviation = knownDeviations.find((d) => d.operation === operation);
      return {
        fileName: `${String(index).padStart(5, '0')}-${operation}.xml`,
        contents: deviation ? deviation.undo(body) : body,
      };
    });
    const result = await validateXML({
      xml: files,
      schema: [schema('messages.xsd')],
      preload: [schema('types.xsd'), schema('xml.xsd')],
      maxMemoryPages: 16384,
    });
    if (result.valid) return pending.length;
    const first = result.errors[0];
    const file = first?.loc?.fileName ?? '';
    const index = Number(file.slice(0, 5));
    const failed = pending[index];
    throw new SchemaValidationError(
      `${failed?.operation ?? 'a response'} does not validate against messages.xsd: ${first?.message ?? result.rawOutput}` +
        (failed ? `\n${failed.body.slice(0, 2000)}` : ''),
    );
  }
}
