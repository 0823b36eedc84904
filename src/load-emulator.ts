import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The Exchange emulator, for `exh demo` and `exh emulator`, the only commands that use it. It lives in the repository's
 * emulator/ folder, apart from the connector (docs/emulator.md): emulator/ beside src/ in a clone, dist/emulator/ beside
 * dist/src/ in its build. The published package leaves it out ("files" in package.json; test/bin/exh.test.ts checks),
 * so an installed exh has no emulator, and these commands stop there with exit code 1 and say where to run them.
 */
export type EmulatorModule = typeof import('../emulator/index.js');

const emulatorFolder = new URL('../emulator/', import.meta.url);

export async function loadEmulator(command: string): Promise<EmulatorModule> {
  if (!existsSync(emulatorFolder)) {
    process.stderr.write(`${emulatorMissing(command)}\n`);
    process.exit(1);
  }
  return import('../emulator/index.js');
}

/** What an installed exh says to `exh demo` and `exh emulator`: the cause, and where they run. */
export function emulatorMissing(command: string, folder: URL = emulatorFolder): string {
  return (
    `${command} needs the Exchange emulator, which is not part of an installed exh (there is no ` +
    `${fileURLToPath(folder)}): it is kept in the repository, for tests, the demo and development. Run it from a ` +
    'clone of the exh repository: npm ci, then npm start (the demo) or npm run exh -- emulator.'
  );
}
