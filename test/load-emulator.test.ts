import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { emulatorMissing, loadEmulator } from '../src/load-emulator.js';

describe('loadEmulator', () => {
  it('loads the emulator beside src/ in a clone', async () => {
    const emulator = await loadEmulator('exh emulator');
    expect(typeof emulator.startEmulator).toBe('function');
  });

  it('says, where there is none (an installed exh), which folder is missing and to run the command from a clone', () => {
    const folder = new URL('file:///opt/exh/dist/emulator/');
    const message = emulatorMissing('exh demo', folder);
    expect(message).toMatch(/^exh demo needs the Exchange emulator, which is not part of an installed exh /);
    expect(message).toContain(fileURLToPath(folder));
    expect(message).toContain('Run it from a clone of the exh repository: npm ci, then npm start (the demo)');
    expect(message).not.toContain('\n');
  });
});
