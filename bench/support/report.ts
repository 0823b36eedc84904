/**
 * How a scenario talks: its figures on stdout, one line each (`<figure>: <value> ..., ratio X of the limit (...)`),
 * collected by bench/run.ts; everything else (progress, the parts' warnings) on stderr.
 *
 *   if (quick) ...;  progress('seeding'); figure(`catch-up 1×5000 (ews): ${perSecond(n, s)} items/s, ratio ...`);
 */

/** `--quick`: the form CI runs (each scenario keeps to its share of three minutes on two cores). */
export const quick = process.argv.includes('--quick');

/** A figure: one line on stdout. */
export function figure(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Progress and notes: stderr, prefixed with the scenario's file name. */
export function progress(message: string): void {
  const name = process.argv[1]?.replace(/.*\//, '').replace(/\.ts$/, '') ?? 'bench';
  process.stderr.write(`[${name}] ${message}\n`);
}

/** Seconds since `startedMs` (performance.now()). */
export function secondsSince(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}

/** A rate as printed: whole numbers above 100, else three significant digits. */
export function perSecond(count: number, seconds: number): string {
  const rate = count / seconds;
  return rate >= 100 ? String(Math.round(rate)) : rate.toPrecision(3);
}

/** A ratio as printed: two decimals. */
export function ratio(value: number): string {
  return value.toFixed(2);
}

/**
 * Runs a scenario's body: a crash (not a missed target) prints its stack on stderr and exits 1; otherwise exits 0 at
 * once, so that a stray handle (a pool, a socket) cannot keep it running.
 */
export function runScenario(body: () => Promise<void>): void {
  body().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
