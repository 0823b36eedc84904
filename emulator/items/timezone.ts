import { findIana } from 'windows-iana';

/**
 * Recurring series repeat in their own time zone's wall-clock time (9:00 in Amsterdam stays 9:00 across daylight
 * saving), so expansion works on wall-clock times and converts to UTC per occurrence. EWS names zones by their Windows
 * ids; windows-iana maps them to IANA names, and Intl computes offsets.
 */

const utcIds = new Set(['UTC', 'Coordinated Universal Time', 'tzone://Microsoft/Utc', 'UTC+00', 'Etc/UTC']);

export function ianaOf(windowsId: string | undefined): string {
  if (!windowsId || utcIds.has(windowsId)) return 'UTC';
  const [first] = findIana(windowsId);
  if (first) return first;
  // A client may already send an IANA name; Intl knows whether it is one.
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: windowsId });
    return windowsId;
  } catch {
    return 'UTC';
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Offset of the zone from UTC at an instant, in milliseconds. */
export function offsetMs(zone: string, utcMs: number): number {
  if (zone === 'UTC') return 0;
  const parts: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(utcMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** Wall-clock time (its fields stored as if UTC) to the instant it denotes in the zone. */
export function wallToUtc(zone: string, wallMs: number): number {
  let guess = wallMs - offsetMs(zone, wallMs);
  // Twice, so that a guess on the other side of a transition settles.
  guess = wallMs - offsetMs(zone, guess);
  return wallMs - offsetMs(zone, guess);
}

export function utcToWall(zone: string, utcMs: number): number {
  return utcMs + offsetMs(zone, utcMs);
}
