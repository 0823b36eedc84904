import { describe, expect, it } from 'vitest';
import { soap, startTestEmulator } from '../support/harness.js';

/**
 * Items as Exchange writes them in GetItem and FindItem: canonical booleans, the properties of the Default shape
 * ("Property sets and response shapes in EWS in Exchange", table 3), and what AllProperties holds besides the stored
 * properties (ItemClass, an empty Body, ResponseObjects). Raw SOAP, so what is asserted is what went over the wire.
 */
const emulator = await startTestEmulator();
const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';

async function create(item: string, attributes = '', user = alice): Promise<string> {
  const answer = await soap(emulator, `<m:CreateItem${attributes}><m:Items>${item}</m:Items></m:CreateItem>`, {
    impersonate: user,
  });
  const id = /<t:ItemId Id="([^"]+)"/.exec(answer.text)?.[1];
  if (!id) throw new Error(`CreateItem failed: ${answer.text}`);
  return id;
}

async function getItem(id: string, base: 'Default' | 'AllProperties', user = alice): Promise<string> {
  const answer = await soap(
    emulator,
    `<m:GetItem><m:ItemShape><t:BaseShape>${base}</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:GetItem>`,
    { impersonate: user },
  );
  expect(answer.status).toBe(200);
  expect(answer.text).toContain('<m:ResponseCode>NoError</m:ResponseCode>');
  return answer.text;
}

async function findItem(folder: string, base: 'Default' | 'AllProperties'): Promise<string> {
  const answer = await soap(
    emulator,
    `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>${base}</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="${folder}"/></m:ParentFolderIds></m:FindItem>`,
    { impersonate: alice },
  );
  expect(answer.status).toBe(200);
  return answer.text;
}

const meeting =
  '<t:CalendarItem><t:Subject>Planning</t:Subject><t:ReminderIsSet>0</t:ReminderIsSet>' +
  '<t:Start>2030-03-04T09:00:00Z</t:Start><t:End>2030-03-04T10:00:00Z</t:End><t:IsAllDayEvent> 1 </t:IsAllDayEvent>' +
  '<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>bob@contoso.test</t:EmailAddress></t:Mailbox>' +
  '</t:Attendee></t:RequiredAttendees></t:CalendarItem>';

describe('booleans', () => {
  it('are written true or false whatever the client sent (1, 0, with spaces)', async () => {
    const id = await create(
      '<t:Message><t:Subject>Flags</t:Subject><t:ReminderIsSet>1</t:ReminderIsSet><t:IsReadReceiptRequested>0</t:IsReadReceiptRequested><t:IsRead>0</t:IsRead></t:Message>',
      ' MessageDisposition="SaveOnly"',
    );
    const xml = await getItem(id, 'AllProperties');
    expect(xml).toContain('<t:ReminderIsSet>true</t:ReminderIsSet>');
    expect(xml).toContain('<t:IsReadReceiptRequested>false</t:IsReadReceiptRequested>');
    expect(xml).toContain('<t:IsRead>false</t:IsRead>');
    expect(xml).not.toMatch(/>\s*[01]\s*<\/t:(ReminderIsSet|IsRead|IsReadReceiptRequested)>/);

    const appointment = await getItem(await create(meeting, ' SendMeetingInvitations="SendToNone"'), 'AllProperties');
    expect(appointment).toContain('<t:ReminderIsSet>false</t:ReminderIsSet>');
    expect(appointment).toContain('<t:IsAllDayEvent>true</t:IsAllDayEvent>');
  });

  it('are kept canonical, so a restriction on false finds an item created with 0', async () => {
    await create(
      '<t:Message><t:Subject>Unread zero</t:Subject><t:IsRead>0</t:IsRead></t:Message>',
      ' MessageDisposition="SaveOnly"',
    );
    const answer = await soap(
      emulator,
      '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>' +
        '<t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape><m:Restriction><t:IsEqualTo>' +
        '<t:FieldURI FieldURI="message:IsRead"/><t:FieldURIOrConstant><t:Constant Value="false"/></t:FieldURIOrConstant>' +
        '</t:IsEqualTo></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="drafts"/></m:ParentFolderIds>' +
        '</m:FindItem>',
      { impersonate: alice },
    );
    expect(answer.text).toContain('<t:Subject>Unread zero</t:Subject>');
  });
});

describe('AllProperties', () => {
  it("answers a calendar item's ItemClass, an empty Body and the organizer's ResponseObjects", async () => {
    const id = await create(meeting, ' SendMeetingInvitations="SendToAllAndSaveCopy"');
    const xml = await getItem(id, 'AllProperties');
    expect(xml).toContain('<t:ItemClass>IPM.Appointment</t:ItemClass>');
    expect(xml).toMatch(/<t:Body BodyType="Text"(\/>|><\/t:Body>)/);
    expect(xml).toContain('<t:ResponseObjects><t:CancelCalendarItem/><t:ForwardItem/></t:ResponseObjects>');
    // Where types.xsd puts it: after DateTimeCreated, before ReminderDueBy.
    expect(xml).toMatch(/<\/t:DateTimeCreated><t:ResponseObjects>.*<\/t:ResponseObjects><t:ReminderDueBy>/);
    // The owner's rights, after Culture as in types.xsd.
    expect(xml).toContain(
      '</t:Culture><t:EffectiveRights><t:CreateAssociated>false</t:CreateAssociated><t:CreateContents>false' +
        '</t:CreateContents><t:CreateHierarchy>false</t:CreateHierarchy><t:Delete>true</t:Delete><t:Modify>true' +
        '</t:Modify><t:Read>true</t:Read><t:ViewPrivateItems>true</t:ViewPrivateItems></t:EffectiveRights>',
    );
  });

  it("offers accept, tentative, decline, reply and forward on an attendee's copy", async () => {
    await create(meeting.replace('Planning', 'Attendee copy'), ' SendMeetingInvitations="SendToAllAndSaveCopy"');
    const copy = emulator.admin.items(bob, 'calendar').find((i) => i.properties.Subject === 'Attendee copy');
    expect(copy).toBeDefined();
    const xml = await getItem(copy?.id ?? '', 'AllProperties', bob);
    expect(xml).toContain(
      '<t:ResponseObjects><t:AcceptItem/><t:TentativelyAcceptItem/><t:DeclineItem/><t:ReplyToItem/>' +
        '<t:ReplyAllToItem/><t:ForwardItem/><t:ProposeNewTime/></t:ResponseObjects>',
    );
  });

  it('answers ItemClass for every kind, and ResponseObjects a contact and a task can be forwarded with', async () => {
    const contact = await getItem(
      await create('<t:Contact><t:GivenName>Carol</t:GivenName><t:Surname>Jones</t:Surname></t:Contact>'),
      'AllProperties',
    );
    expect(contact).toContain('<t:ItemClass>IPM.Contact</t:ItemClass>');
    expect(contact).toContain('<t:ResponseObjects><t:ForwardItem/></t:ResponseObjects>');
    const task = await getItem(await create('<t:Task><t:Subject>File report</t:Subject></t:Task>'), 'AllProperties');
    expect(task).toContain('<t:ItemClass>IPM.Task</t:ItemClass>');
    expect(task).toMatch(/<t:Body BodyType="Text"(\/>|><\/t:Body>)/);
  });

  it('answers the Outlook on the web link and a ConversationId a reply shares', async () => {
    const first = await create(
      '<t:Message><t:Subject>Budget</t:Subject></t:Message>',
      ' MessageDisposition="SaveOnly"',
    );
    const reply = await create(
      '<t:Message><t:Subject>RE: Budget</t:Subject></t:Message>',
      ' MessageDisposition="SaveOnly"',
    );
    const other = await create('<t:Message><t:Subject>Lunch</t:Subject></t:Message>', ' MessageDisposition="SaveOnly"');
    const xml = await getItem(first, 'AllProperties');
    expect(xml).toContain(
      `<t:WebClientReadFormQueryString>${new URL('/owa/', emulator.url).href}?ItemID=${encodeURIComponent(first).replace(/&/g, '&amp;')}&amp;exvsurl=1&amp;viewmodel=ReadMessageItem</t:WebClientReadFormQueryString>`,
    );
    const conversation = async (id: string) =>
      /<t:ConversationId Id="([^"]+)"/.exec(await getItem(id, 'AllProperties'))?.[1];
    expect(await conversation(first)).toBeTruthy();
    expect(await conversation(reply)).toBe(await conversation(first));
    expect(await conversation(other)).not.toBe(await conversation(first));
  });

  it('answers them when asked for by name with IdOnly, as exchangelib asks', async () => {
    const id = await create(meeting.replace('Planning', 'By name'), ' SendMeetingInvitations="SendToNone"');
    const uris = [
      'item:ResponseObjects',
      'item:EffectiveRights',
      'item:WebClientReadFormQueryString',
      'item:ConversationId',
    ];
    const answer = await soap(
      emulator,
      '<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>' +
        uris.map((uri) => `<t:FieldURI FieldURI="${uri}"/>`).join('') +
        `</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:GetItem>`,
      { impersonate: alice },
    );
    expect(answer.text).toContain('<m:ResponseCode>NoError</m:ResponseCode>');
    expect(answer.text).toMatch(
      /<t:ItemId [^>]*\/><t:ResponseObjects><t:CancelCalendarItem\/><t:ForwardItem\/><\/t:ResponseObjects><t:EffectiveRights>.*<\/t:EffectiveRights><t:WebClientReadFormQueryString>[^<]+<\/t:WebClientReadFormQueryString><t:ConversationId Id="[^"]+"\/><\/t:CalendarItem>/,
    );
  });

  it('leaves ResponseObjects out of FindItem, as Exchange does', async () => {
    await create(meeting.replace('Planning', 'Listed'), ' SendMeetingInvitations="SendToNone"');
    const xml = await findItem('calendar', 'AllProperties');
    expect(xml).toContain('<t:Subject>Listed</t:Subject>');
    expect(xml).toContain('<t:ItemClass>IPM.Appointment</t:ItemClass>');
    expect(xml).not.toContain('ResponseObjects');
    expect(xml).toContain('<t:EffectiveRights>');
  });
});

describe('Default shape', () => {
  it("holds a calendar item's LegacyFreeBusyStatus, in GetItem and FindItem", async () => {
    const id = await create(meeting.replace('Planning', 'Busy time'), ' SendMeetingInvitations="SendToNone"');
    expect(await getItem(id, 'Default')).toContain('<t:LegacyFreeBusyStatus>Busy</t:LegacyFreeBusyStatus>');
    expect(await findItem('calendar', 'Default')).toContain('<t:LegacyFreeBusyStatus>Busy</t:LegacyFreeBusyStatus>');
  });

  it("holds a contact's names and addresses, a task's progress and a message's dates", async () => {
    const contact = await getItem(
      await create(
        '<t:Contact><t:GivenName>Dan</t:GivenName><t:CompanyName>Contoso</t:CompanyName><t:EmailAddresses>' +
          '<t:Entry Key="EmailAddress1">dan@contoso.test</t:Entry></t:EmailAddresses><t:JobTitle>Buyer</t:JobTitle>' +
          '<t:Surname>Park</t:Surname></t:Contact>',
      ),
      'Default',
    );
    for (const name of ['FileAs', 'CompleteName', 'CompanyName', 'EmailAddresses', 'JobTitle']) {
      expect(contact, name).toContain(`<t:${name}>`);
    }
    const task = await getItem(await create('<t:Task><t:Subject>Plan</t:Subject></t:Task>'), 'Default');
    expect(task).toContain('<t:PercentComplete>0</t:PercentComplete>');
    const message = await getItem(
      await create('<t:Message><t:Subject>Dated</t:Subject></t:Message>', ' MessageDisposition="SaveOnly"'),
      'Default',
    );
    for (const name of ['Sensitivity', 'Size', 'DateTimeSent', 'DateTimeCreated', 'IsDeliveryReceiptRequested']) {
      expect(message, name).toContain(`<t:${name}>`);
    }
  });
});
