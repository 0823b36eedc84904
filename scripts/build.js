// `npm run build`: dist/ afresh from the sources in src/, actors/, machines/ and emulator/ (tsconfig.build.json:
// JavaScript and source maps, no type check: `npm run typecheck` does that), so that the installed `exh` never
// compiles. dist/emulator/ serves the demo and `exh emulator` in a clone; the package leaves it out ("files").
// `npm ci` and `npm pack` run it as `prepare` (with --prepare). An install without devDependencies
// (npm ci --omit=dev, the way a server is installed) has no TypeScript: there it keeps the dist/ copied along with the
// sources (docs/operations.md), and says what to do when there is none.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const built = existsSync(new URL('../dist/src/cli.js', import.meta.url));

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  if (process.argv.includes('--prepare') && built) {
    console.log('exh: TypeScript is not installed (npm ci --omit=dev): keeping the dist/ that is there');
    process.exit(0);
  }
  console.error(
    `exh: cannot build ${dist}: TypeScript is not installed (npm ci --omit=dev leaves it out). Build where the ` +
      'devDependencies are (npm ci) and copy dist/ along, or run npm ci and then npm prune --omit=dev.',
  );
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });
const { status, error } = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (error) throw error;
process.exit(status ?? 1);
