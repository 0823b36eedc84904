import { ewsSchemaDirectory, schemaChecksHint } from '../../src/emulator/validation.js';

/** Runs once before the test files: says once (not per file) which checks this run leaves out, and how to run them. */
export default function setup(): void {
  if (ewsSchemaDirectory() === undefined) console.log(`\n  notice: ${schemaChecksHint}\n`);
}
