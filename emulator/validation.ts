import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The fidelity check: with `validateResponses` on, the emulator records the SOAP body (the operation's response
 * element) of everything it sends — responses, streaming envelopes, push notifications — and every request it
 * answered (the whole envelope), and `check()` validates them all against Microsoft's messages.xsd in one xmllint-wasm
 * run (a devDependency, loaded only when checking). What the emulator sent must validate; so must every request it
 * accepted, and every request it refused as schema-invalid must not: the emulator's own request checks
 * (soap/request-schema.ts) have to agree with the schema. A failure names the operation and the first schema error.
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

/**
 * Where Microsoft's EWS schema (messages.xsd, types.xsd, xml.xsd) is, or undefined where it is not at hand. The schema
 * is Microsoft's and not part of the repository (docs/emulator.md, "Schema checks"): `EXH_EWS_SCHEMA_DIR` names its
 * folder; without it, `../shared/reference/ews-schema` beside the checkout is used when it is there. A folder named by
 * the variable that lacks messages.xsd is an error, so a CI that means to run the schema checks cannot skip them.
 */
export function ewsSchemaDirectory(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env.EXH_EWS_SCHEMA_DIR;
  if (named !== undefined && named !== '') {
    const directory = resolve(named);
    if (!existsSync(join(directory, 'messages.xsd'))) {
      throw new Error(
        `EXH_EWS_SCHEMA_DIR is ${directory}, which has no messages.xsd: point it at the folder with Microsoft's EWS schema (messages.xsd, types.xsd, xml.xsd), or unset it to skip the schema checks.`,
      );
    }
    return directory;
  }
  const checkout = checkoutFolder(fileURLToPath(new URL('.', import.meta.url)));
  if (checkout === undefined) return undefined;
  const beside = join(dirname(checkout), 'shared', 'reference', 'ews-schema');
  return existsSync(join(beside, 'messages.xsd')) ? beside : undefined;
}

/**
 * The checkout this module runs from: the first folder upwards with a package.json (the repository's, from emulator/
 * and from its build in dist/emulator/ alike). The emulator's own lookup, so that it imports nothing of the connector's.
 */
function checkoutFolder(from: string): string | undefined {
  for (let folder = from; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'package.json'))) return folder;
    if (dirname(folder) === folder) return undefined;
  }
}

/** How to switch the schema checks on, for the notice where they are skipped. */
export const schemaChecksHint =
  "EWS schema checks skipped: Microsoft's schema is not in the repository; set EXH_EWS_SCHEMA_DIR to a folder with messages.xsd, types.xsd and xml.xsd (CI uses ../shared/reference/ews-schema) to run them.";

/** A SOAP 1.1 envelope whose Body holds one element of messages.xsd (requests are validated whole). */
const envelopeSchema = `<?xml version="1.0" encoding="utf-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://schemas.xmlsoap.org/soap/envelope/"
           elementFormDefault="qualified">
  <xs:import namespace="http://schemas.microsoft.com/exchange/services/2006/messages" schemaLocation="messages.xsd"/>
  <xs:element name="Envelope">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Header" minOccurs="0">
          <xs:complexType>
            <xs:sequence><xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
            <xs:anyAttribute namespace="##other" processContents="lax"/>
          </xs:complexType>
        </xs:element>
        <xs:element name="Body">
          <xs:complexType>
            <xs:sequence>
              <xs:any namespace="http://schemas.microsoft.com/exchange/services/2006/messages" processContents="strict"/>
            </xs:sequence>
            <xs:anyAttribute namespace="##other" processContents="lax"/>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
      <xs:anyAttribute namespace="##other" processContents="lax"/>
    </xs:complexType>
  </xs:element>
</xs:schema>`;

/** A response body, or a request the emulator accepted or refused (ErrorSchemaValidation). */
export interface RecordedBody {
  kind: 'response' | 'accepted' | 'refused';
  operation: string;
  body: string;
}

export class SchemaValidationError extends Error {
  override readonly name = 'SchemaValidationError';
}

export class ResponseRecorder {
  private bodies: RecordedBody[] = [];
  private checked = 0;

  /** `directory` holds messages.xsd; by default the one `ewsSchemaDirectory()` finds when `check()` runs. */
  constructor(private readonly directory?: string) {}

  record(operation: string, body: string): void {
    this.bodies.push({ kind: 'response', operation, body });
  }

  /** A request as it came, with what the emulator made of it. */
  recordRequest(operation: string, body: string, verdict: 'accepted' | 'refused'): void {
    this.bodies.push({ kind: verdict, operation, body });
  }

  /** How many responses were recorded. */
  get count(): number {
    return this.bodies.filter((b) => b.kind === 'response').length;
  }

  /** How many responses were recorded per operation (so a test can see that it exercised what it meant to). */
  operations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { kind, operation } of this.bodies) if (kind === 'response') out[operation] = (out[operation] ?? 0) + 1;
    return out;
  }

  /**
   * Validates everything recorded since the last check; throws naming the operation and the first schema error (or
   * the refused request that validates). Returns how many bodies were checked.
   */
  async check(): Promise<number> {
    const pending = this.bodies.slice(this.checked);
    this.checked = this.bodies.length;
    if (pending.length === 0) return 0;
    const directory = this.directory ?? ewsSchemaDirectory();
    if (directory === undefined) throw new Error(`Response validation needs the EWS schema. ${schemaChecksHint}`);
    const { validateXML } = await import('xmllint-wasm');
    const schema = (name: string) => ({ fileName: name, contents: readFileSync(join(directory, name), 'utf8') });
    const files = pending.map(({ kind, operation, body }, index) => {
      const deviation = kind === 'response' ? knownDeviations.find((d) => d.operation === operation) : undefined;
      return {
        fileName: `${String(index).padStart(6, '0')}-${kind}-${operation}.xml`,
        contents: deviation ? deviation.undo(body) : body,
      };
    });
    const result = await validateXML({
      xml: files,
      schema: [{ fileName: 'soap-envelope.xsd', contents: envelopeSchema }],
      preload: [schema('messages.xsd'), schema('types.xsd'), schema('xml.xsd')],
      maxMemoryPages: 16384,
    });
    const valid = new Set(
      [...result.rawOutput.matchAll(/^(\S+\.xml) validates$/gm)].map((match) => match[1] as string),
    );
    for (const [index, recorded] of pending.entries()) {
      const file = files[index]?.fileName ?? '';
      const validates = valid.has(file);
      if (recorded.kind === 'refused') {
        if (validates) {
          throw new SchemaValidationError(
            `${recorded.operation}: the emulator refused a request with ErrorSchemaValidation that validates against messages.xsd\n${recorded.body.slice(0, 2000)}`,
          );
        }
        continue;
      }
      if (validates) continue;
      const first = result.errors.find((e) => e.loc?.fileName === file) ?? result.errors[0];
      const what = recorded.kind === 'response' ? recorded.operation : `${recorded.operation} request (accepted)`;
      throw new SchemaValidationError(
        `${what} does not validate against messages.xsd: ${first?.message ?? result.rawOutput}\n${recorded.body.slice(0, 2000)}`,
      );
    }
    return pending.length;
  }
}
