import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ewsSchemaDirectory } from '../../../emulator/validation.js';
import { generatedPath, generateEwsSchema } from '../../../scripts/generate-ews-schema.js';

// The request checker walks emulator/soap/generated/ews-schema.ts, written by scripts/generate-ews-schema.ts from
// Microsoft's messages.xsd and types.xsd (not in the repository). Where the schema is at hand, the committed table must
// be what the script writes from it.
const directory = ewsSchemaDirectory();
if (!directory)
  console.warn('generated-schema.test.ts: EXH_EWS_SCHEMA_DIR is not set, the EWS schema table is not compared');

describe('generated EWS schema table', () => {
  it.skipIf(!directory)('is what scripts/generate-ews-schema.ts writes from messages.xsd and types.xsd', () => {
    const fresh = generateEwsSchema(directory as string);
    expect(
      readFileSync(generatedPath, 'utf8') === fresh,
      'emulator/soap/generated/ews-schema.ts differs: run npx tsx scripts/generate-ews-schema.ts $EXH_EWS_SCHEMA_DIR',
    ).toBe(true);
  });
});
