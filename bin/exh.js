#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (`npm run build`, which npm ci and npm pack run through `prepare`), so that no
// command compiles TypeScript when it starts. Stack traces name the TypeScript sources (dist/ has source maps). The
// sources themselves run through tsx in development: `npm run exh -- <command>`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    `exh: ${fileURLToPath(cli)} is missing: run \`npm run build\` in ${fileURLToPath(new URL('..', import.meta.url))} ` +
      '(npm ci does), or run the sources with `npm run exh -- <command>`.\n',
  );
  process.exit(1);
}
process.setSourceMapsEnabled(true);
await import(cli.href);
