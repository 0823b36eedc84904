import { describe, expect, it } from 'vitest';
import { basic, codeOf, envelopeOf, mailboxState, soap, startTestEmulator } from '../support/harness.js';

// Every request below that the emulator accepts or refuses is also checked against messages.xsd in afterAll
// (validateResponses): accepted ones must validate, refused ones must not.
const emulator = await startTestEmulator();
const alice = 'alice@contoso.test';
const call = (body: string) => soap(emulator, body, { impersonate: alice });
const getCalendar =
  '<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>';
const createAppointment = (inner: string) =>
  `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>${inner}</t:CalendarItem></m:Items></m:CreateItem>`;
const streaming = (timeout: string) =>
  `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>abc</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>${timeout}</m:ConnectionTimeout></m:GetStreamingEvents>`;
const pull = (timeout: string) =>
  `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes><t:Timeout>${timeout}</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`;

async function rawPost(envelope: string): Promise<{ status: number; text: string }> {
  const response = await fetch(emulator.url, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', authorization: basic(alice, emulator.password) },
    body: envelope,
  });
  return { status: response.status, text: await response.text() };
}

describe('namespaces', () => {
  it('answers a request in the EWS namespaces', async () => {
    expect(codeOf(await call(getCalendar))).toBe('NoError');
  });

  it('refuses an operation without namespaces, or with its elements in the wrong one', async () => {
    const bare = await rawPost(
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetFolder><FolderShape><BaseShape>Default</BaseShape></FolderShape><FolderIds><DistinguishedFolderId Id="calendar"/></FolderIds></GetFolder></soap:Body></soap:Envelope>',
    );
    expect(bare.status).toBe(500);
    expect(codeOf(bare)).toBe('ErrorSchemaValidation');
    const typesForMessages = await call(
      getCalendar.replace('<m:FolderShape>', '<t:FolderShape>').replace('</m:FolderShape>', '</t:FolderShape>'),
    );
    expect(codeOf(typesForMessages)).toBe('ErrorSchemaValidation');
    const foreign = await call(
      getCalendar.replace('<t:BaseShape>Default</t:BaseShape>', '<x:BaseShape xmlns:x="urn:x">Default</x:BaseShape>'),
    );
    expect(codeOf(foreign)).toBe('ErrorSchemaValidation');
  });

  it('refuses an envelope that is not SOAP 1.1', async () => {
    const soap12 = await rawPost(
      envelopeOf('', getCalendar).replaceAll(
        'http://schemas.xmlsoap.org/soap/envelope/',
        'http://www.w3.org/2003/05/soap-envelope',
      ),
    );
    expect(codeOf(soap12)).toBe('ErrorSchemaValidation');
  });
});

describe('items against the schema', () => {
  it('refuses item properties out of schema order, and unknown ones, and creates nothing', async () => {
    const before = mailboxState(emulator);
    const endFirst = await call(
      createAppointment('<t:End>2024-05-06T10:00:00Z</t:End><t:Start>2024-05-06T09:00:00Z</t:Start>'),
    );
    expect(codeOf(endFirst)).toBe('ErrorSchemaValidation');
    expect(endFirst.text).toContain("invalid child element 'Start'");
    const subjectLast = await call(
      createAppointment(
        '<t:Start>2024-05-06T09:00:00Z</t:Start><t:End>2024-05-06T10:00:00Z</t:End><t:Subject>late</t:Subject>',
      ),
    );
    expect(codeOf(subjectLast)).toBe('ErrorSchemaValidation');
    const bogus = await call(createAppointment('<t:Subject>x</t:Subject><t:Bogus>1</t:Bogus>'));
    expect(codeOf(bogus)).toBe('ErrorSchemaValidation');
    expect(bogus.text).toContain("'Bogus'");
    const badBoolean = await call(createAppointment('<t:IsAllDayEvent>maybe</t:IsAllDayEvent>'));
    expect(codeOf(badBoolean)).toBe('ErrorSchemaValidation');
    expect(mailboxState(emulator)).toEqual(before);
    const good = await call(
      createAppointment(
        '<t:Subject>in order</t:Subject><t:Start>2024-05-06T09:00:00Z</t:Start><t:End>2024-05-06T10:00:00Z</t:End>',
      ),
    );
    expect(codeOf(good)).toBe('NoError');
  });
});

describe('arrays that must not be empty', () => {
  const empty: Record<string, string> = {
    GetItem: '<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds/></m:GetItem>',
    CreateItem: '<m:CreateItem MessageDisposition="SaveOnly"><m:Items/></m:CreateItem>',
    DeleteItem: '<m:DeleteItem DeleteType="HardDelete"><m:ItemIds/></m:DeleteItem>',
    UpdateItem: '<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges/></m:UpdateItem>',
    GetFolder:
      '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds/></m:GetFolder>',
    GetAttachment: '<m:GetAttachment><m:AttachmentIds/></m:GetAttachment>',
    GetStreamingEvents:
      '<m:GetStreamingEvents><m:SubscriptionIds/><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>',
  };
  for (const [operation, body] of Object.entries(empty)) {
    it(`refuses ${operation} with an empty list as ErrorSchemaValidation (a SOAP fault)`, async () => {
      const answer = await call(body);
      expect(answer.status).toBe(500);
      expect(codeOf(answer)).toBe('ErrorSchemaValidation');
    });
  }
});

describe('required attributes and elements, and values in range', () => {
  it('refuses a request without an attribute or element the schema requires', async () => {
    const noConflictResolution = await call(
      '<m:UpdateItem><m:ItemChanges><t:ItemChange><t:ItemId Id="AAMkAAAAAAAAAAAA"/><t:Updates><t:DeleteItemField><t:FieldURI FieldURI="item:Subject"/></t:DeleteItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>',
    );
    expect(codeOf(noConflictResolution)).toBe('ErrorSchemaValidation');
    const noTraversal = await call(
      '<m:FindItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>',
    );
    expect(codeOf(noTraversal)).toBe('ErrorSchemaValidation');
    const noShape = await call('<m:GetItem><m:ItemIds><t:ItemId Id="AAMkAAAAAAAAAAAA"/></m:ItemIds></m:GetItem>');
    expect(codeOf(noShape)).toBe('ErrorSchemaValidation');
  });

  it('refuses ConnectionTimeout outside 1 to 30 as ErrorSchemaValidation', async () => {
    for (const timeout of ['0', '31', 'abc', '']) {
      const answer = await call(streaming(timeout));
      expect(answer.status, timeout).toBe(500);
      expect(codeOf(answer), timeout).toBe('ErrorSchemaValidation');
    }
  });

  it('refuses a subscription Timeout or StatusFrequency outside 1 to 1440 as ErrorSchemaValidation', async () => {
    for (const timeout of ['0', '1441', '-5'])
      expect(codeOf(await call(pull(timeout))), timeout).toBe('ErrorSchemaValidation');
    const push = await call(
      '<m:Subscribe><m:PushSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes><t:StatusFrequency>0</t:StatusFrequency><t:URL>http://127.0.0.1:9/x</t:URL></m:PushSubscriptionRequest></m:Subscribe>',
    );
    expect(codeOf(push)).toBe('ErrorSchemaValidation');
    expect(codeOf(await call(pull('1440')))).toBe('NoError');
  });

  it('refuses an unknown event type and a CalendarView date that is not an xs:dateTime', async () => {
    expect(codeOf(await call(pull('10').replace('CreatedEvent', 'BirthdayEvent')))).toBe('ErrorSchemaValidation');
    const view = await call(
      '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="tomorrow" EndDate="2024-01-02T00:00:00Z"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>',
    );
    expect(codeOf(view)).toBe('ErrorSchemaValidation');
  });
});

describe('the whole request against messages.xsd (issue 16, finding 4)', () => {
  const ref = '<t:ReferenceItemId Id="AAMkAGNoYW5nZWQAAAAAAAAAAAAA"/>';
  const create = (inner: string, attrs = ' MessageDisposition="SaveOnly"') =>
    `<m:CreateItem${attrs}><m:Items>${inner}</m:Items></m:CreateItem>`;
  // Every response object of NonEmptyArrayOfAllItemsType, with the content types.xsd gives it.
  const responseObjects: Record<string, string> = {
    AcceptItem: `<t:AcceptItem><t:Sensitivity>Private</t:Sensitivity>${ref}</t:AcceptItem>`,
    TentativelyAcceptItem: `<t:TentativelyAcceptItem>${ref}<t:ProposedStart>2026-01-01T10:00:00Z</t:ProposedStart><t:ProposedEnd>2026-01-01T11:00:00Z</t:ProposedEnd></t:TentativelyAcceptItem>`,
    DeclineItem: `<t:DeclineItem><t:Body BodyType="Text">no</t:Body>${ref}</t:DeclineItem>`,
    CancelCalendarItem: `<t:CancelCalendarItem>${ref}</t:CancelCalendarItem>`,
    ReplyToItem: `<t:ReplyToItem><t:Subject>RE: x</t:Subject>${ref}<t:NewBodyContent BodyType="HTML">&lt;p&gt;yes&lt;/p&gt;</t:NewBodyContent></t:ReplyToItem>`,
    ReplyAllToItem: `<t:ReplyAllToItem>${ref}</t:ReplyAllToItem>`,
    ForwardItem: `<t:ForwardItem><t:ToRecipients><t:Mailbox><t:EmailAddress>bob@contoso.test</t:EmailAddress></t:Mailbox></t:ToRecipients>${ref}</t:ForwardItem>`,
    RemoveItem: `<t:RemoveItem>${ref}</t:RemoveItem>`,
    SuppressReadReceipt: `<t:SuppressReadReceipt>${ref}</t:SuppressReadReceipt>`,
    PostReplyItem: `<t:PostReplyItem>${ref}</t:PostReplyItem>`,
    AcceptSharingInvitation: `<t:AcceptSharingInvitation>${ref}</t:AcceptSharingInvitation>`,
  };

  it('accepts CreateItem with each response object the schema allows, and checks what is inside it', async () => {
    for (const [name, item] of Object.entries(responseObjects)) {
      const answer = await call(create(item));
      expect(codeOf(answer), name).not.toBe('ErrorSchemaValidation');
    }
    const refused = {
      'an unknown element': responseObjects.AcceptItem?.replace('<t:Sensitivity>', '<t:Bogus/><t:Sensitivity>'),
      'elements out of order': `<t:AcceptItem>${ref}<t:Sensitivity>Private</t:Sensitivity></t:AcceptItem>`,
      'a reference without its Id': '<t:RemoveItem><t:ReferenceItemId/></t:RemoveItem>',
      'a value outside its enumeration': responseObjects.AcceptItem?.replace('Private', 'Secret'),
      'a proposed time that is no xs:dateTime': responseObjects.TentativelyAcceptItem?.replace(
        '2026-01-01T10:00:00Z',
        'at ten',
      ),
    };
    for (const [what, item] of Object.entries(refused)) {
      const answer = await call(create(item as string));
      expect(answer.status, what).toBe(500);
      expect(codeOf(answer), what).toBe('ErrorSchemaValidation');
    }
  });

  it('refuses ProposeNewTime in CreateItem (a ResponseObjects entry only) and answers the unemulated ones ErrorInvalidRequest', async () => {
    // types.xsd lists ProposeNewTime under ResponseObjects, not in NonEmptyArrayOfAllItemsType: a time is proposed
    // with AcceptItem, TentativelyAcceptItem or DeclineItem and ProposedStart/ProposedEnd (docs/emulator.md).
    const propose = await call(create(`<t:ProposeNewTime>${ref}</t:ProposeNewTime>`));
    expect(propose.status).toBe(500);
    expect(codeOf(propose)).toBe('ErrorSchemaValidation');
    for (const name of ['SuppressReadReceipt', 'PostReplyItem', 'AcceptSharingInvitation']) {
      expect(codeOf(await call(create(responseObjects[name] as string))), name).toBe('ErrorInvalidRequest');
    }
  });

  it('checks children messages.xsd declares by reference in the types namespace (GetUserOofSettings t:Mailbox)', async () => {
    const oof = (mailbox: string) => `<m:GetUserOofSettingsRequest>${mailbox}</m:GetUserOofSettingsRequest>`;
    const typed = await call(oof(`<t:Mailbox><t:Address>${alice}</t:Address></t:Mailbox>`));
    expect(codeOf(typed)).not.toBe('ErrorSchemaValidation');
    const messagesNamespace = await call(oof(`<m:Mailbox><t:Address>${alice}</t:Address></m:Mailbox>`));
    expect(codeOf(messagesNamespace)).toBe('ErrorSchemaValidation');
    const noAddress = await call(oof('<t:Mailbox><t:Name>Alice</t:Name></t:Mailbox>'));
    expect(codeOf(noAddress)).toBe('ErrorSchemaValidation');
  });

  it('checks restrictions and sort orders down to their leaves', async () => {
    const find = (restriction: string) =>
      `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:Restriction>${restriction}</m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>`;
    const valid = find(
      '<t:And><t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="x"/></t:FieldURIOrConstant></t:IsEqualTo><t:Exists><t:FieldURI FieldURI="calendar:AdjacentMeetings"/></t:Exists></t:And>',
    );
    expect(codeOf(await call(valid))).toBe('NoError');
    for (const restriction of [
      '<t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/></t:IsEqualTo>',
      '<t:Exists><t:FieldURI FieldURI="item:Bogus"/></t:Exists>',
      '<t:Contains ContainmentMode="Everywhere"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="x"/></t:Contains>',
    ]) {
      expect(codeOf(await call(find(restriction))), restriction).toBe('ErrorSchemaValidation');
    }
  });
});
