/**
 * A heap snapshot summed up: its total (the live heap, since V8 collects before writing one) and the constructors
 * holding most of it, by self size.
 *
 *   node --import tsx bench/support/heap-summary.ts <file.heapsnapshot> [top=25] [divide-by=1]
 *
 * With `divide-by` (the mailboxes live when it was taken), every figure is also given per mailbox.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const [file, topArg, perArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: heap-summary.ts <file.heapsnapshot> [top] [divide-by]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const per = Number(perArg ?? 1);
const heap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fields = heap.snapshot.meta.node_fields;
const width = fields.length;
const typeAt = fields.indexOf('type');
const nameAt = fields.indexOf('name');
const sizeAt = fields.indexOf('self_size');
const types = heap.snapshot.meta.node_types[0];
const bySize = new Map<string, { size: number; count: number }>();
let total = 0;
for (let i = 0; i < heap.nodes.length; i += width) {
  const size = heap.nodes[i + sizeAt] ?? 0;
  const type = types[heap.nodes[i + typeAt] ?? 0] ?? '?';
  // Objects by constructor; everything else (strings, arrays, code, closures) by its kind.
  const name = type === 'object' ? (heap.strings[heap.nodes[i + nameAt] ?? 0] ?? '?') : `(${type})`;
  total += size;
  const entry = bySize.get(name) ?? { size: 0, count: 0 };
  entry.size += size;
  entry.count += 1;
  bySize.set(name, entry);
}
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
process.stdout.write(
  `${file}: ${(total / 1024 / 1024).toFixed(1)} MiB live heap` +
    (per > 1 ? `, ${kib(total / per)} KiB per mailbox (÷ ${per})` : '') +
    '\n',
);
for (const [name, { size, count }] of [...bySize].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  const share = ((100 * size) / total).toFixed(1);
  const each = per > 1 ? `, ${kib(size / per)} KiB per mailbox` : '';
  process.stdout.write(
    `${share.padStart(5)}%  ${kib(size).padStart(9)} KiB  ${String(count).padStart(8)}×  ${name}${each}\n`,
  );
}
