import { ewsSchemaDirectory } from '../../emulator/validation.js';

/**
 * Microsoft's EWS schema, where it is at hand (EXH_EWS_SCHEMA_DIR, else ../shared/reference/ews-schema beside the
 * checkout; docs/emulator.md). A clone on its own has none: the checks against it are skipped there, with one notice
 * from test/support/global-setup.ts, and every other test still runs.
 */
export const ewsSchema: string | undefined = ewsSchemaDirectory();

/** Whether the emulator's responses and the requests it answered are validated against messages.xsd. */
export const schemaChecks = ewsSchema !== undefined;
