import { describe, expect, it } from 'vitest';
import { codeOf, ewsService, soap, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();

describe('GetServerTimeZones', () => {
  it('lists the Windows time zones the emulator knows, through ews-javascript-api', async () => {
    const zones = await ewsService(emulator, 'alice@contoso.test').GetServerTimeZones();
    const ids = zones.map((zone) => zone.Id);
    expect(ids).toEqual(expect.arrayContaining(['Pacific Standard Time', 'W. Europe Standard Time', 'UTC']));
    expect(ids.length).toBeGreaterThan(100);
  });

  it('answers the zones asked for, with their daylight rule, or names only without ReturnFullTimeZoneData', async () => {
    const full = await soap(
      emulator,
      '<m:GetServerTimeZones><m:Ids><t:Id>W. Europe Standard Time</t:Id><t:Id>Not A Zone</t:Id></m:Ids></m:GetServerTimeZones>',
      { impersonate: 'alice@contoso.test' },
    );
    expect(codeOf(full)).toBe('NoError');
    expect(full.text.match(/<t:TimeZoneDefinition /g)?.length).toBe(1);
    // Central Europe: UTC+1, daylight time from the last Sunday of March at 2:00 to the last Sunday of October at 3:00.
    expect(full.text).toContain('<t:Period Bias="-PT1H" Name="Standard"');
    expect(full.text).toContain('<t:Period Bias="-PT2H" Name="Daylight"');
    expect(full.text).toMatch(
      /Daylight<\/t:To><t:TimeOffset>PT2H<\/t:TimeOffset><t:Month>3<\/t:Month><t:DayOfWeek>Sunday<\/t:DayOfWeek><t:Occurrence>-1<\/t:Occurrence>/,
    );
    expect(full.text).toMatch(
      /Standard<\/t:To><t:TimeOffset>PT3H<\/t:TimeOffset><t:Month>10<\/t:Month><t:DayOfWeek>Sunday<\/t:DayOfWeek><t:Occurrence>-1<\/t:Occurrence>/,
    );

    const names = await soap(
      emulator,
      '<m:GetServerTimeZones ReturnFullTimeZoneData="false"><m:Ids><t:Id>Pacific Standard Time</t:Id></m:Ids></m:GetServerTimeZones>',
      { impersonate: 'alice@contoso.test' },
    );
    expect(names.text).toContain(
      '<t:TimeZoneDefinition Id="Pacific Standard Time" Name="(UTC-08:00) Pacific Standard Time"/>',
    );
  });
});
