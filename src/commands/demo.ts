import type { Command } from 'commander';

/**
 * `exh demo`: what `npm start` runs (src/demo.ts): PGlite with the base project and the example application, the
 * Exchange emulator with three mailboxes, simulated activity on both sides by turns (src/demo-activity.ts), the
 * connector and its dashboard. Its ports and the activity are set by environment variables (README.md,
 * docs/operations.md "The demo"), as for `npm start`.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run the demo (as npm start): embedded database, Exchange emulator with three mailboxes, the connector and ' +
        'its dashboard on http://localhost:8080, with changes made by turns in the mailboxes and in the ' +
        "application's tables; Ctrl-C stops it. Ports: EXH_LISTENERS_HTTP_PORT, EXH_LISTENERS_LOG_PORT, " +
        'EXH_LISTENERS_DATABASE_PORT, EXH_DEMO_EMULATOR_PORT; activity: EXH_DEMO_INTERVAL_MS (0 or off: none)',
    )
    .option(
      '--graph',
      'serve the mailboxes through Microsoft Graph (as for Exchange Online: docs/exchange-online.md) instead of EWS; ' +
        'also EXH_DEMO_BACKEND=graph',
    )
    .action(async (options: { graph?: boolean }) => {
      if (options.graph) process.env.EXH_DEMO_BACKEND = 'graph';
      // The demo is a script: importing it runs it, and it exits the process when it stops.
      await import('../demo.js');
    });
}
