import { type Command, Option } from 'commander';

/** `exh machines export --format mermaid|json`: every statechart of the connector, read from machines/. */
export function registerMachinesCommand(program: Command): void {
  program
    .command('machines')
    .description('the statecharts of the connector (read from machines/*.machine.ts)')
    .command('export')
    .description('print every statechart, from the supervisor down to the item types, for documentation')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['mermaid', 'json']).default('mermaid'))
    // A bad flag is a usage error: exit status 2, as for every exh command (docs/operations.md).
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (options: { format: 'mermaid' | 'json' }) => {
      const { supervisorMachine } = await import('../../machines/supervisor.machine.js');
      const { statecharts } = await import('../statecharts/graph.js');
      const { toMermaid } = await import('../statecharts/mermaid.js');
      const charts = statecharts(supervisorMachine);
      if (options.format === 'json') {
        process.stdout.write(`${JSON.stringify(charts, null, 2)}\n`);
        return;
      }
      // One fenced block per machine: the output pastes straight into Markdown.
      const blocks = charts.map((chart) => `## ${chart.id}\n\n\`\`\`mermaid\n${toMermaid(chart)}\`\`\`\n`);
      process.stdout.write(blocks.join('\n'));
    });
}
