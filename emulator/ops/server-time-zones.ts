import { WINDOWS_TO_IANA_MAP } from 'windows-iana';
import type { OperationContext } from '../context.js';
import { offsetMs } from '../items/timezone.js';
import { responseRoot, successMessage } from '../soap/envelope.js';
import { child, children, type XmlNode } from '../xml/node.js';
import { el, textEl } from '../xml/write.js';

/**
 * GetServerTimeZones: the Windows time zones the emulator knows (every zone windows-iana maps, as items/timezone.ts
 * reads them), by Id and Name, and with ReturnFullTimeZoneData (the default) their definition: a standard period, a
 * daylight one where the zone has daylight saving time, and one transitions group with the rule of the current year
 * (read from the IANA zone through Intl), as Exchange 2010 and later write it. Names are "(UTC±hh:mm) Id": Windows'
 * localized display names are not at hand. `Ids` limits the answer to those zones; an Id not known is left out.
 */

const windowsZones: { id: string; iana: string }[] = [];
for (const entry of WINDOWS_TO_IANA_MAP) {
  const [iana] = entry.iana;
  if (entry.territory === '001' && iana) windowsZones.push({ id: entry.windowsName, iana });
}

const hour = 3_600_000;
const day = 24 * hour;

/** xs:duration of minutes, signed: PT8H, -PT1H, PT5H30M, PT0M. */
function duration(minutes: number): string {
  const sign = minutes < 0 ? '-' : '';
  const abs = Math.abs(minutes);
  const h = Math.floor(abs / 60);
  const m = abs % 60;
  if (abs === 0) return 'PT0M';
  return `${sign}PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}`;
}

function utcLabel(offsetMinutes: number): string {
  if (offsetMinutes === 0) return '(UTC)';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `(UTC${offsetMinutes < 0 ? '-' : '+'}${hh}:${mm})`;
}

const weekdays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The first minute in (from, to] with the zone's new offset (from and to on whole minutes; zones change on them). */
function transitionBetween(zone: string, from: number, to: number): number {
  const before = offsetMs(zone, from);
  let low = from / 60_000;
  let high = to / 60_000;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (offsetMs(zone, middle * 60_000) === before) low = middle;
    else high = middle;
  }
  return high * 60_000;
}

interface Rule {
  month: number;
  weekday: string;
  /** 1–4, or -1 for the last such weekday of the month. */
  occurrence: number;
  /** Wall-clock minutes after midnight, in the offset before the change. */
  minutes: number;
}

function ruleAt(zone: string, instant: number): Rule {
  const wall = new Date(instant + offsetMs(zone, instant - 60_000));
  const date = wall.getUTCDate();
  const daysInMonth = new Date(Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth() + 1, 0)).getUTCDate();
  return {
    month: wall.getUTCMonth() + 1,
    weekday: weekdays[wall.getUTCDay()] as string,
    occurrence: date + 7 > daysInMonth ? -1 : Math.ceil(date / 7),
    minutes: wall.getUTCHours() * 60 + wall.getUTCMinutes(),
  };
}

function recurringTransition(to: string, rule: Rule): string {
  return el(
    't:RecurringDayTransition',
    undefined,
    textEl('t:To', to, { Kind: 'Period' }) +
      textEl('t:TimeOffset', duration(rule.minutes)) +
      textEl('t:Month', rule.month) +
      textEl('t:DayOfWeek', rule.weekday) +
      textEl('t:Occurrence', rule.occurrence),
  );
}

/** Definitions by zone, shape and year: working out a year's transitions costs a scan of the year through Intl. */
const definitions = new Map<string, string>();

function definition(zone: { id: string; iana: string }, full: boolean, year: number): string {
  const key = `${zone.id}|${full}|${year}`;
  let xml = definitions.get(key);
  if (xml === undefined) {
    xml = computeDefinition(zone, full, year);
    definitions.set(key, xml);
  }
  return xml;
}

function computeDefinition(zone: { id: string; iana: string }, full: boolean, year: number): string {
  const january = Date.UTC(year, 0, 1);
  const july = Date.UTC(year, 6, 1);
  const winter = offsetMs(zone.iana, january) / 60_000;
  const summer = offsetMs(zone.iana, july) / 60_000;
  const standard = Math.min(winter, summer);
  const attrs = { Id: zone.id, Name: `${utcLabel(standard)} ${zone.id}` };
  if (!full) return el('t:TimeZoneDefinition', attrs);
  const prefix = `trule:Microsoft/Registry/${zone.id}/${year}`;
  const std = `${prefix}-Standard`;
  const dlt = `${prefix}-Daylight`;
  let periods = el('t:Period', { Bias: duration(-standard), Name: 'Standard', Id: std });
  let group: string;
  if (winter === summer) {
    group = el('t:Transition', undefined, textEl('t:To', std, { Kind: 'Period' }));
  } else {
    periods += el('t:Period', { Bias: duration(-Math.max(winter, summer)), Name: 'Daylight', Id: dlt });
    // The two changes of the year, found day by day and then to the minute.
    const changes: number[] = [];
    for (let t = january; t < january + 366 * day && changes.length < 2; t += day) {
      if (offsetMs(zone.iana, t) !== offsetMs(zone.iana, t + day))
        changes.push(transitionBetween(zone.iana, t, t + day));
    }
    group = changes
      .map((instant) => {
        const toDaylight = offsetMs(zone.iana, instant) / 60_000 !== standard;
        return { toDaylight, rule: ruleAt(zone.iana, instant) };
      })
      .sort((a, b) => Number(b.toDaylight) - Number(a.toDaylight))
      .map(({ toDaylight, rule }) => recurringTransition(toDaylight ? dlt : std, rule))
      .join('');
  }
  return el(
    't:TimeZoneDefinition',
    attrs,
    el('t:Periods', undefined, periods) +
      el('t:TransitionsGroups', undefined, el('t:TransitionsGroup', { Id: '0' }, group)) +
      el('t:Transitions', undefined, el('t:Transition', undefined, textEl('t:To', '0', { Kind: 'Group' }))),
  );
}

export function getServerTimeZones(request: XmlNode, ctx: OperationContext): string {
  const full = (request.a?.ReturnFullTimeZoneData ?? 'true').trim();
  const wanted = children(child(request, 'Ids'), 'Id').map((node) => (node.t ?? '').trim());
  const year = new Date(ctx.core.now()).getUTCFullYear();
  const zones = wanted.length
    ? wanted.flatMap((id) => windowsZones.filter((zone) => zone.id === id).slice(0, 1))
    : windowsZones;
  const xml = zones.map((zone) => definition(zone, full === 'true' || full === '1', year)).join('');
  return responseRoot(
    'GetServerTimeZonesResponse',
    `<m:ResponseMessages>${successMessage(
      'GetServerTimeZonesResponseMessage',
      el('m:TimeZoneDefinitions', undefined, xml),
    )}</m:ResponseMessages>`,
  );
}
