import type { GraphRequest } from './http.js';

/**
 * The `Prefer` preferences Outlook resources honour (https://learn.microsoft.com/graph/api/resources/message,
 * "Prefer" headers; https://learn.microsoft.com/graph/outlook-immutable-id): `IdType="ImmutableId"`,
 * `outlook.timezone="…"`, `outlook.body-content-type="html"|"text"`, `odata.maxpagesize=N`. Those applied are echoed in
 * `Preference-Applied`, as Graph does.
 */

export interface Preferences {
  immutableIds: boolean;
  /** The zone start and end times are given in (Windows or IANA name); UTC without the preference. */
  timeZone: string;
  bodyType: 'html' | 'text' | undefined;
  maxPageSize: number | undefined;
  /** The preferences applied, for Preference-Applied. */
  applied: string[];
}

export function preferencesOf(request: Pick<GraphRequest, 'headers'>): Preferences {
  const out: Preferences = {
    immutableIds: false,
    timeZone: 'UTC',
    bodyType: undefined,
    maxPageSize: undefined,
    applied: [],
  };
  const raw = request.headers.prefer ?? '';
  for (const part of raw.split(',')) {
    const match = /^\s*([\w.-]+)\s*=\s*"?([^"]*)"?\s*$/.exec(part);
    if (!match?.[1]) continue;
    const name = match[1].toLowerCase();
    const value = match[2] ?? '';
    if (name === 'idtype' && value.toLowerCase() === 'immutableid') {
      out.immutableIds = true;
      out.applied.push('IdType="ImmutableId"');
    } else if (name === 'outlook.timezone' && value) {
      out.timeZone = value;
      out.applied.push(`outlook.timezone="${value}"`);
    } else if (name === 'outlook.body-content-type' && (value === 'html' || value === 'text')) {
      out.bodyType = value;
      out.applied.push(`outlook.body-content-type="${value}"`);
    } else if (name === 'odata.maxpagesize' && /^\d+$/.test(value) && Number(value) > 0) {
      out.maxPageSize = Number(value);
      out.applied.push(`odata.maxpagesize=${value}`);
    }
  }
  return out;
}
