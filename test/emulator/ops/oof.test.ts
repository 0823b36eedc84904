import { DateTime, OofExternalAudience, OofReply, OofSettings, OofState, TimeWindow } from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { codeOf, errorCodeOf, ewsService, soap, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const alice = ewsService(emulator, 'alice@contoso.test');

describe('GetUserOofSettings / SetUserOofSettings', () => {
  it('answers a mailbox that never set OOF as disabled, with AllowExternalOof', async () => {
    const settings = await alice.GetUserOofSettings('alice@contoso.test');
    expect(OofState[settings.State]).toBe('Disabled');
    expect(OofExternalAudience[settings.AllowExternalOof]).toBe('All');
  });

  it('keeps what SetUserOofSettings wrote, per mailbox', async () => {
    const settings = new OofSettings();
    settings.State = OofState.Scheduled;
    settings.ExternalAudience = OofExternalAudience.Known;
    settings.Duration = new TimeWindow(DateTime.Parse('2027-01-04T08:00:00Z'), DateTime.Parse('2027-01-08T17:00:00Z'));
    settings.InternalReply = new OofReply('Back on Monday.');
    settings.ExternalReply = new OofReply('I am away this week.');
    await alice.SetUserOofSettings('alice@contoso.test', settings);

    const read = await alice.GetUserOofSettings('alice@contoso.test');
    expect(OofState[read.State]).toBe('Scheduled');
    expect(OofExternalAudience[read.ExternalAudience]).toBe('Known');
    expect(read.InternalReply.Message).toBe('Back on Monday.');
    expect(read.ExternalReply.Message).toBe('I am away this week.');
    expect(read.Duration.StartTime.ToISOString()).toBe('2027-01-04T08:00:00.000Z');
    expect(read.Duration.EndTime.ToISOString()).toBe('2027-01-08T17:00:00.000Z');
    // Bob's settings are his own.
    const bob = await ewsService(emulator, 'bob@contoso.test').GetUserOofSettings('bob@contoso.test');
    expect(OofState[bob.State]).toBe('Disabled');
  });

  it('refuses a duration that ends before it starts, and leaves the settings as they were', async () => {
    // ews-javascript-api refuses such a window itself: sent as a client without that check would.
    const answer = await soap(
      emulator,
      '<m:SetUserOofSettingsRequest><t:Mailbox><t:Address>alice@contoso.test</t:Address></t:Mailbox>' +
        '<t:UserOofSettings><t:OofState>Scheduled</t:OofState><t:ExternalAudience>All</t:ExternalAudience>' +
        '<t:Duration><t:StartTime>2027-02-08T00:00:00Z</t:StartTime><t:EndTime>2027-02-01T00:00:00Z</t:EndTime></t:Duration>' +
        '</t:UserOofSettings></m:SetUserOofSettingsRequest>',
      { impersonate: 'alice@contoso.test' },
    );
    expect(codeOf(answer)).toBe('ErrorInvalidScheduledOofDuration');
    const read = await alice.GetUserOofSettings('alice@contoso.test');
    expect(OofState[read.State]).toBe('Scheduled');
    expect(read.Duration.StartTime.ToISOString()).toBe('2027-01-04T08:00:00.000Z');
  });

  it("answers another mailbox's settings ErrorAccessDenied and an unknown address ErrorNonExistentMailbox", async () => {
    expect(await errorCodeOf(() => alice.GetUserOofSettings('bob@contoso.test'))).toBe('ErrorAccessDenied');
    expect(await errorCodeOf(() => alice.GetUserOofSettings('nobody@contoso.test'))).toBe('ErrorNonExistentMailbox');
  });

  it('answers the shape messages.xsd gives: ResponseMessage, then t:OofSettings, then AllowExternalOof', async () => {
    const answer = await soap(
      emulator,
      '<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>alice@contoso.test</t:Address></t:Mailbox></m:GetUserOofSettingsRequest>',
      { impersonate: 'alice@contoso.test' },
    );
    expect(answer.status).toBe(200);
    expect(codeOf(answer)).toBe('NoError');
    expect(answer.text).toMatch(
      /<m:GetUserOofSettingsResponse[^>]*><m:ResponseMessage ResponseClass="Success">.*<\/m:ResponseMessage><t:OofSettings>.*<\/t:OofSettings><m:AllowExternalOof>All<\/m:AllowExternalOof><\/m:GetUserOofSettingsResponse>/,
    );
  });
});
