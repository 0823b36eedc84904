/**
 * What /proc says of a process beyond ./process.ts (Linux; undefined elsewhere): its peak resident memory, and how
 * many TCP connections it holds to a port — for a connector, its streaming connections to Exchange plus the pool's.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Peak resident memory (VmHWM) in MiB. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Established TCP connections of `pid` whose remote end is `port` (IPv4 and IPv6). */
export function connectionsTo(pid: number, port: number): number | undefined {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match?.[1]) inodes.add(match[1]);
      } catch {
        // closed while we looked
      }
    }
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    let count = 0;
    for (const table of ['tcp', 'tcp6']) {
      let text = '';
      try {
        text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        // local_address rem_address st … inode (the 10th field)
        const remote = fields[2];
        if (remote?.endsWith(`:${hexPort}`) && fields[3] === '01' && inodes.has(fields[9] ?? '')) count++;
      }
    }
    return count;
  } catch {
    return undefined;
  }
}
