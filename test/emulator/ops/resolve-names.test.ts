import { MailboxType, ResolveNameSearchLocation } from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { codeOf, ewsService, soap, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator({
  mailboxes: ['alice@contoso.test', 'bob@contoso.test', 'alice.smith@contoso.test'],
});
const bob = ewsService(emulator, 'bob@contoso.test');
const zed = emulator.admin.createItem('bob@contoso.test', {
  kind: 'Contact',
  DisplayName: 'Zed Zimmer',
  GivenName: 'Zed',
  Surname: 'Zimmer',
  EmailAddresses: { EmailAddress1: 'zed@fabrikam.test', EmailAddress2: 'zed.home@example.test' },
});

describe('ResolveNames', () => {
  it('resolves one mailbox of the directory, with its contact data when asked', async () => {
    const [only, ...more] = (
      await bob.ResolveName('alice.s', ResolveNameSearchLocation.DirectoryOnly, true)
    ).GetEnumerator();
    expect(more).toEqual([]);
    expect([only?.Mailbox.Name, only?.Mailbox.Address, only?.Mailbox.RoutingType]).toEqual([
      'Alice Smith',
      'alice.smith@contoso.test',
      'SMTP',
    ]);
    expect(MailboxType[only?.Mailbox.MailboxType ?? 0]).toBe('Mailbox');
    expect([only?.Contact?.DisplayName, only?.Contact?.GivenName, only?.Contact?.Surname]).toEqual([
      'Alice Smith',
      'Alice',
      'Smith',
    ]);
  });

  it('answers every match of an ambiguous name with the multiple-results warning', async () => {
    const answer = await soap(
      emulator,
      '<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>alice</m:UnresolvedEntry></m:ResolveNames>',
      { impersonate: 'bob@contoso.test' },
    );
    expect(answer.text).toContain('ResponseClass="Warning"');
    expect(codeOf(answer)).toBe('ErrorNameResolutionMultipleResults');
    expect(answer.text).toContain('<m:ResolutionSet TotalItemsInView="2" IncludesLastItemInRange="true">');
    // ews-javascript-api reads the warning's resolutions.
    const both = await bob.ResolveName('alice');
    expect(both.GetEnumerator().map((r) => r.Mailbox.Address)).toEqual([
      'alice@contoso.test',
      'alice.smith@contoso.test',
    ]);
    // SMTP: names one address exactly.
    const exact = await bob.ResolveName('SMTP:alice@contoso.test');
    expect(exact.GetEnumerator().map((r) => r.Mailbox.Address)).toEqual(['alice@contoso.test']);
  });

  it("resolves the caller's contacts when the directory has no match: one resolution per e-mail address", async () => {
    const found = await bob.ResolveName('zimmer', ResolveNameSearchLocation.DirectoryThenContacts, true);
    const resolutions = found.GetEnumerator();
    expect(resolutions.map((r) => [r.Mailbox.Address, MailboxType[r.Mailbox.MailboxType]])).toEqual([
      ['zed@fabrikam.test', 'Contact'],
      ['zed.home@example.test', 'Contact'],
    ]);
    expect(resolutions[0]?.Mailbox.Id?.UniqueId).toBe(zed?.id);
    expect(resolutions[0]?.Contact?.DisplayName).toBe('Zed Zimmer');
    // Only Bob's contacts: Alice has none.
    const alice = ewsService(emulator, 'alice@contoso.test');
    // (ErrorNameResolutionNoResults, which ews-javascript-api reads as no resolutions.)
    expect((await alice.ResolveName('zimmer', ResolveNameSearchLocation.ContactsOnly, false)).Count).toBe(0);
  });

  it('answers ErrorNameResolutionNoResults for a name nothing matches', async () => {
    const answer = await soap(
      emulator,
      '<m:ResolveNames ReturnFullContactData="true" SearchScope="ActiveDirectoryContacts"><m:UnresolvedEntry>nobody at all</m:UnresolvedEntry></m:ResolveNames>',
      { impersonate: 'bob@contoso.test' },
    );
    expect(answer.text).toContain('ResponseClass="Error"');
    expect(codeOf(answer)).toBe('ErrorNameResolutionNoResults');
    expect(answer.text).not.toContain('ResolutionSet');
  });
});
