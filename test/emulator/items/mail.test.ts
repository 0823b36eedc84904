import {
  BodyType,
  EmailMessage,
  EventType,
  FolderId,
  ItemView,
  MessageBody,
  PropertySet,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { ewsService, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const alice = ewsService(emulator, 'alice@contoso.test');
const bob = ewsService(emulator, 'bob@contoso.test');

function message(subject: string): EmailMessage {
  const mail = new EmailMessage(alice);
  mail.Subject = subject;
  mail.Body = new MessageBody(BodyType.Text, 'Hi Bob');
  mail.ToRecipients.Add('bob@contoso.test');
  mail.CcRecipients.Add('outside@example.test');
  return mail;
}

async function inboxOf(service: typeof bob) {
  const found = await service.FindItems(WellKnownFolderName.Inbox, new ItemView(50));
  return Promise.all(found.Items.map((i) => EmailMessage.Bind(service, i.Id, PropertySet.FirstClassProperties)));
}

describe('sending e-mail between mailboxes', () => {
  it("delivers SendAndSaveCopy to the recipient's Inbox, unread, with a NewMailEvent, and keeps a copy in Sent Items", async () => {
    const watch = await bob.SubscribeToPullNotifications(
      [new FolderId(WellKnownFolderName.Inbox)],
      10,
      null as unknown as string,
      EventType.NewMail,
    );
    await message('Lunch?').SendAndSaveCopy();
    const [received] = (await inboxOf(bob)).filter((m) => m.Subject === 'Lunch?');
    expect(received?.IsRead).toBe(false);
    expect(received?.From.Address).toBe('alice@contoso.test');
    expect(received?.Body.Text).toBe('Hi Bob');
    expect((await watch.GetEvents()).ItemEvents.map((e) => EventType[e.EventType])).toEqual(['NewMail']);
    const sent = emulator.admin.items('alice@contoso.test', 'sentitems').map((i) => i.properties.Subject);
    expect(sent).toContain('Lunch?');
  });

  it('keeps no copy with SendOnly, and sends a saved draft with SendItem', async () => {
    await message('Fire and forget').Send();
    expect(emulator.admin.items('alice@contoso.test', 'sentitems').map((i) => i.properties.Subject)).not.toContain(
      'Fire and forget',
    );
    expect((await inboxOf(bob)).map((m) => m.Subject)).toContain('Fire and forget');

    const draft = message('Drafted');
    await draft.Save(WellKnownFolderName.Drafts);
    expect(emulator.admin.items('alice@contoso.test', 'drafts').map((i) => i.properties.Subject)).toContain('Drafted');
    await draft.SendAndSaveCopy();
    expect(emulator.admin.items('alice@contoso.test', 'drafts').map((i) => i.properties.Subject)).not.toContain(
      'Drafted',
    );
    expect(emulator.admin.items('alice@contoso.test', 'sentitems').map((i) => i.properties.Subject)).toContain(
      'Drafted',
    );
    expect((await inboxOf(bob)).map((m) => m.Subject)).toContain('Drafted');
  });

  it('does not show Bcc recipients to the people who receive the message', async () => {
    const mail = message('Secret copy');
    mail.BccRecipients.Add('alice@contoso.test');
    await mail.SendAndSaveCopy();
    const [copy] = (await inboxOf(alice)).filter((m) => m.Subject === 'Secret copy');
    expect(copy?.BccRecipients.Count).toBe(0);
    expect(copy?.ToRecipients._getItem(0).Address).toBe('bob@contoso.test');
  });
});
