import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { child, children, parseXml, type XmlNode } from '../../emulator/xml/node.js';
import { basic, codeOf, startTestEmulator } from './support/harness.js';
import { startPushReceiver } from './support/push-receiver.js';

/**
 * Microsoft's example requests from the EWS operation reference (test/fixtures/ews/requests/, the README names the
 * page of each), posted to the emulator over HTTP as a client would post them, answered as Exchange answers them: the
 * answer validates against messages.xsd (startTestEmulator checks every answer and every request in afterAll), each
 * response message has the ResponseClass and ResponseCode of Microsoft's example answer on the same page, and the
 * parts that do not depend on the mailbox's data have the example's element structure (element names in order, with
 * their attribute names; a run of siblings of the same structure counts once, since how many items a folder holds is
 * data). Where an example's ids cannot exist in the emulator, each case says which it replaces and by what; where a
 * published request is not what its page means (a typo, the wrong SOAP namespace), the case sends it as published
 * first and shows the refusal, then the corrected request. Known differences are listed in docs/emulator.md.
 */

const emulator = await startTestEmulator();
const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';

const fixtures = new URL('../fixtures/ews/requests/', import.meta.url);
const published = (name: string) => readFileSync(new URL(`${name}.xml`, fixtures), 'utf8');
const exchangeAnswer = (name: string) => parseXml(readFileSync(new URL(`${name}.answer.xml`, fixtures), 'utf8'));

/** Replaces each of the example's values (an id, an address) by the emulator's, everywhere in the request. */
function replace(xml: string, values: Record<string, string>): string {
  let out = xml;
  for (const [from, to] of Object.entries(values)) {
    if (!out.includes(from)) throw new Error(`the example request has no ${from}`);
    out = out.split(from).join(to);
  }
  return out;
}

/** POSTs a whole SOAP envelope as the mailbox's owner (the examples carry no impersonation header). */
async function post(xml: string, user = alice): Promise<{ status: number; text: string; xml: XmlNode }> {
  const response = await fetch(emulator.url, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', authorization: basic(user, emulator.password) },
    body: xml,
  });
  const text = await response.text();
  return { status: response.status, text, xml: parseXml(text) };
}

/** The operation's response element: the first child of the SOAP Body. */
function responseOf(envelope: XmlNode): XmlNode {
  const body = children(envelope).find((c) => c.n === 'Body');
  const root = children(body)[0];
  if (!root) throw new Error('the answer has no SOAP Body content');
  return root;
}

/** Every response message (an element with ResponseClass), in order: its name, class and code. */
function messagesOf(node: XmlNode, out: string[] = []): string[] {
  if (node.a?.ResponseClass) out.push(`${node.n} ${node.a.ResponseClass} ${child(node, 'ResponseCode')?.t}`);
  for (const c of children(node)) messagesOf(c, out);
  return out;
}

/** Element names with their attribute names, indented by depth; runs of siblings of the same structure count once. */
function structure(node: XmlNode, depth = 0): string[] {
  const attributes = Object.keys(node.a ?? {}).sort();
  const lines = [`${'  '.repeat(depth)}${node.n}${attributes.length ? ` @${attributes.join(' @')}` : ''}`];
  let previous = '';
  for (const c of children(node)) {
    const sub = structure(c, depth + 1);
    const key = sub.join('\n');
    if (key !== previous) lines.push(...sub);
    previous = key;
  }
  return lines;
}

/** The element at a path of local names below the operation's response element. */
function at(envelope: XmlNode, path: string): XmlNode {
  let node: XmlNode | undefined = responseOf(envelope);
  for (const name of path.split('/')) node = children(node).find((c) => c.n === name);
  if (!node) throw new Error(`no ${path} in the answer`);
  return node;
}

/** A structure without the named elements (and what is below them). */
function without(lines: string[], names: string[]): string[] {
  const out: string[] = [];
  let skipBelow = -1;
  for (const line of lines) {
    const depth = line.length - line.trimStart().length;
    if (skipBelow >= 0 && depth > skipBelow) continue;
    skipBelow = -1;
    if (names.includes(line.trim().split(' ')[0] ?? '')) skipBelow = depth;
    else out.push(line);
  }
  return out;
}

/**
 * The answer against Microsoft's: the same response messages (name, class, code) and, for each path, the same
 * structure below the operation's response element. `leftOut` names elements left out of the emulator's side, each
 * case says why: ones Exchange writes from a later version than the example's server (Exchange 2007, version 8.0),
 * or ones that hold data the example's mailbox did not have.
 */
function expectAsExchange(
  answer: { text: string; xml: XmlNode },
  example: XmlNode,
  paths: string[] = [],
  leftOut: string[] = [],
): void {
  expect(messagesOf(responseOf(answer.xml)), answer.text).toEqual(messagesOf(responseOf(example)));
  for (const path of paths)
    expect(without(structure(at(answer.xml, path)), leftOut), path).toEqual(structure(at(example, path)));
}

const first = (operation: string) => `ResponseMessages/${operation}ResponseMessage`;

function created(kind: 'CalendarItem' | 'Message' | 'Contact' | 'Task', input: Record<string, unknown>, user = alice) {
  const item = emulator.admin.createItem(user, { kind, ...input } as never);
  if (!item) throw new Error('nothing created');
  return item;
}

describe('GetFolder, FindFolder', () => {
  it('GetFolder: the Inbox with the Default shape', async () => {
    const answer = await post(published('getfolder'));
    expectAsExchange(answer, exchangeAnswer('getfolder'), [`${first('GetFolder')}/Folders`]);
  });

  it('FindFolder: the folders below one, Shallow, Default shape', async () => {
    // The example's Inbox holds a TestFolder; the emulator cannot create folders, so the request asks for the
    // children of Sync Issues (Conflicts, Local Failures, Server Failures: folders of class IPF.Note as TestFolder).
    const answer = await post(replace(published('findfolder'), { 'Id="inbox"': 'Id="syncissues"' }));
    expectAsExchange(answer, exchangeAnswer('findfolder'), [`${first('FindFolder')}/RootFolder`]);
  });
});

describe('FindItem, GetItem', () => {
  it('FindItem: IdOnly in Deleted Items', async () => {
    // No ids in the request; the folder needs items, so two messages are deleted into it first.
    for (const subject of ['one', 'two']) {
      emulator.admin.deleteItem(alice, created('Message', { Subject: subject }).id);
    }
    const answer = await post(published('finditem'));
    expectAsExchange(answer, exchangeAnswer('finditem'), [`${first('FindItem')}/RootFolder`]);
  });

  it('GetItem (calendar item): IdOnly with item:Subject, of an appointment without a subject', async () => {
    // The example's ItemId cannot exist here: it is replaced by an appointment of alice's, which has no subject as
    // the example's answer shows (no Subject element).
    const item = created('CalendarItem', { Start: '2006-06-16T00:30:00Z', End: '2006-06-16T01:00:00Z' });
    const request = replace(published('getitem-calendar-item'), { 'AsdD89=': item.id, 'Jajs3==': item.changeKey });
    expectAsExchange(await post(request), exchangeAnswer('getitem-calendar-item'), [`${first('GetItem')}/Items`]);
  });
});

describe('CreateItem', () => {
  it('a calendar item with attendees, SendToAllAndSaveCopy', async () => {
    const answer = await post(published('createitem-calendar-item'));
    expectAsExchange(answer, exchangeAnswer('createitem-calendar-item'), [`${first('CreateItem')}/Items`]);
  });

  it('a message, SendAndSaveCopy: sent, and no item in the answer', async () => {
    const answer = await post(published('createitem-message-send'));
    expectAsExchange(answer, exchangeAnswer('createitem-message-send'), [`${first('CreateItem')}/Items`]);
  });

  it('a message, SaveOnly: a draft, answered with its ItemId', async () => {
    // The page (email-and-ews-in-exchange) writes the SOAP namespace with https, which is not SOAP's: sent as
    // published it is refused; corrected, it is answered as the page says, NoError and the new message's ItemId.
    const asPublished = published('createitem-message-saveonly');
    expect(codeOf(await post(asPublished))).toBe('ErrorSchemaValidation');
    const answer = await post(asPublished.replace('https://schemas.xmlsoap.org', 'http://schemas.xmlsoap.org'));
    expect(messagesOf(responseOf(answer.xml))).toEqual(['CreateItemResponseMessage Success NoError']);
    expect(structure(at(answer.xml, `${first('CreateItem')}/Items`))).toEqual([
      'Items',
      '  Message',
      '    ItemId @ChangeKey @Id',
    ]);
    expect(emulator.admin.items(alice, 'drafts').map((i) => i.properties.Subject)).toContain('Project priorities');
  });

  it('a contact', async () => {
    const answer = await post(published('createitem-contact'));
    expectAsExchange(answer, exchangeAnswer('createitem-contact'), [`${first('CreateItem')}/Items`]);
  });

  it('a contact in a folder that is not a contacts folder: ErrorCannotCreateContactInNonContactFolder', async () => {
    const answer = await post(published('createitem-contact-searchfolders'));
    expectAsExchange(answer, exchangeAnswer('createitem-contact-searchfolders'), [`${first('CreateItem')}/Items`]);
  });

  it('a task (MessageDisposition is ignored for tasks)', async () => {
    const answer = await post(published('createitem-task'));
    expectAsExchange(answer, exchangeAnswer('createitem-task'), [`${first('CreateItem')}/Items`]);
  });
});

describe('UpdateItem, DeleteItem, MoveItem', () => {
  it('SetItemField, AppendToItemField, DeleteItemField on a message', async () => {
    // The three examples' ItemIds (each cut short differently by Microsoft) are replaced by one draft of alice's,
    // with its change key as it stands before each request. The page has one answer for the three.
    const draft = created('Message', { Subject: 'Update me', Body: 'Some text' });
    const cases: [string, string, string][] = [
      ['updateitem-set', 'AAAtAEFkb...', 'CQAAABYAAAB...'],
      ['updateitem-append', 'AAAtAEFkbW...', 'CQAAABYA...'],
      ['updateitem-delete', 'AAAtAEFkbWluaXN0cm...', 'CQAAABYAA...'],
    ];
    for (const [name, id, changeKey] of cases) {
      const current = emulator.admin.item(alice, draft.id);
      const answer = await post(replace(published(name), { [id]: current.id, [changeKey]: current.changeKey }));
      expectAsExchange(answer, exchangeAnswer('updateitem'), [`${first('UpdateItem')}/Items`]);
    }
    const after = emulator.admin.item(alice, draft.id);
    expect(after.properties.Sensitivity).toBe('Normal');
    expect(after.properties.Body).toBeUndefined();
  });

  it('DeleteItem HardDelete, then the same request again: ErrorItemNotFound', async () => {
    // The example's ItemId is replaced by a message of alice's.
    const item = created('Message', { Subject: 'Delete me' });
    const request = replace(published('deleteitem'), { 'AS4AUn==': item.id });
    expectAsExchange(await post(request), exchangeAnswer('deleteitem'));
    expectAsExchange(await post(request), exchangeAnswer('deleteitem-error'));
  });

  it('MoveItem to Drafts, answered with the new id', async () => {
    // The example's ItemId is replaced by a message in alice's Inbox. Microsoft's answer writes `t:ItemID`, which
    // the schema does not have: the fixture has ItemId (README).
    const item = created('Message', { Subject: 'Move me', folder: 'inbox' });
    const request = replace(published('moveitem'), { 'AAAtAEF/swbAAA=': item.id, 'EwAAABYA/s4b': item.changeKey });
    const answer = await post(request);
    expectAsExchange(answer, exchangeAnswer('moveitem'), [`${first('MoveItem')}/Items`]);
    const newId = at(answer.xml, `${first('MoveItem')}/Items/Message/ItemId`).a?.Id;
    expect(newId).not.toBe(item.id);
    expect(emulator.admin.items(alice, 'drafts').map((i) => i.id)).toContain(newId);
    expect(emulator.admin.items(alice, 'inbox').map((i) => i.id)).not.toContain(item.id);
  });
});

describe('SyncFolderItems, SyncFolderHierarchy', () => {
  it("SyncFolderItems as published: the example's sync state is not the emulator's, ErrorInvalidSyncStateData", async () => {
    // Microsoft's own error example for this request; the Ignore id is left as published (it is never looked up).
    expectAsExchange(await post(published('syncfolderitems')), exchangeAnswer('syncfolderitems-error'));
  });

  it('SyncFolderItems: a meeting request in Sent Items since a sync state, Default shape', async () => {
    // The example's SyncState is replaced by one the emulator gave for Sent Items, and the Ignore id by an item of
    // alice's; then alice invites bob with SendToAllAndSaveCopy, which keeps the meeting request in her Sent Items.
    const initial = await post(
      replace(published('syncfolderitems'), {
        '<SyncState>AEbJ94eMOAAA=</SyncState>': '',
        'AQApAHRAA==': created('Message', { Subject: 'ignored' }).id,
      }),
    );
    const state = at(initial.xml, `${first('SyncFolderItems')}/SyncState`).t ?? '';
    created('CalendarItem', {
      Subject: 'Budget Q3',
      Start: '2006-08-02T17:30:00Z',
      End: '2006-08-02T19:30:00Z',
      Location: 'Conference Room 2',
      RequiredAttendees: [bob],
    });
    const ignored = created('Message', { Subject: 'ignored too' });
    const answer = await post(
      replace(published('syncfolderitems'), { 'AEbJ94eMOAAA=': state, 'AQApAHRAA==': ignored.id }),
    );
    // MailboxType in a Mailbox (Organizer's) is written by Exchange from 2010 on (the 2013 examples of the EWS
    // how-to pages have it); the example is Exchange 2007's.
    expectAsExchange(
      answer,
      exchangeAnswer('syncfolderitems'),
      [`${first('SyncFolderItems')}/Changes`],
      ['MailboxType'],
    );
  });

  it("SyncFolderHierarchy as published: the example's sync state is not the emulator's, ErrorInvalidSyncStateData", async () => {
    expectAsExchange(await post(published('syncfolderhierarchy')), exchangeAnswer('syncfolderhierarchy-error'));
  });

  it('SyncFolderHierarchy from the beginning, AllProperties: a mail folder is created as Exchange writes one', async () => {
    // The example's SyncState names a state from before a NewFolder was created; the emulator cannot create folders,
    // so the request goes without a SyncState (a first sync: every folder is a Create) and the Inbox's Create, a
    // folder of class IPF.Note as NewFolder, is compared with the example's.
    const answer = await post(published('syncfolderhierarchy').replace('<SyncState>H4sIA=</SyncState>', ''));
    expect(messagesOf(responseOf(answer.xml))).toEqual(messagesOf(responseOf(exchangeAnswer('syncfolderhierarchy'))));
    const creates = children(at(answer.xml, `${first('SyncFolderHierarchy')}/Changes`));
    const inbox = creates.find((c) => child(child(c, 'Folder'), 'DisplayName')?.t === 'Inbox');
    if (!inbox) throw new Error(`no Create of the Inbox in ${answer.text}`);
    // EffectiveRights came with Exchange 2007 SP1 (types.xsd of 2007 SP1 on); the example is Exchange 2007's (8.0).
    expect(without(structure(inbox), ['EffectiveRights'])).toEqual(
      structure(at(exchangeAnswer('syncfolderhierarchy'), `${first('SyncFolderHierarchy')}/Changes/Create`)),
    );
  });
});

describe('Subscribe, GetEvents, GetStreamingEvents, Unsubscribe', () => {
  let pull = { id: '', watermark: '' };
  let streaming = '';

  it('Subscribe: a pull subscription to the Inbox', async () => {
    const answer = await post(published('subscribe-pull'));
    expectAsExchange(answer, exchangeAnswer('subscribe-pull'), [first('Subscribe')]);
    pull = {
      id: at(answer.xml, `${first('Subscribe')}/SubscriptionId`).t ?? '',
      watermark: at(answer.xml, `${first('Subscribe')}/Watermark`).t ?? '',
    };
  });

  it('Subscribe: a push subscription (the page leaves Subscribe without its namespace)', async () => {
    // As published, Subscribe is in no namespace (only its children declare one): it is not an EWS operation, and
    // the request is refused. With the messages namespace it is answered as the example; the example's URL
    // (http://clientWebService/Service.asmx) is replaced by a receiver of the test's, which the emulator can reach.
    const asPublished = published('subscribe-push');
    expect(codeOf(await post(asPublished))).toBe('ErrorSchemaValidation');
    const receiver = await startPushReceiver();
    const answer = await post(
      replace(asPublished, {
        '<Subscribe xmlns:xsi':
          '<Subscribe xmlns="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:xsi',
        'http://clientWebService/Service.asmx': receiver.url,
      }),
    );
    expectAsExchange(answer, exchangeAnswer('subscribe-push'), [first('Subscribe')]);
  });

  it('Subscribe: a streaming subscription (the page writes the SOAP namespace with https)', async () => {
    const asPublished = published('subscribe-streaming');
    expect(codeOf(await post(asPublished))).toBe('ErrorSchemaValidation');
    const answer = await post(asPublished.replace('https://schemas.xmlsoap.org', 'http://schemas.xmlsoap.org'));
    expectAsExchange(answer, exchangeAnswer('subscribe-streaming'), [first('Subscribe')]);
    streaming = at(answer.xml, `${first('Subscribe')}/SubscriptionId`).t ?? '';
  });

  it('GetEvents: new mail since the watermark', async () => {
    // The example's SubscriptionId and Watermark are replaced by the pull subscription's above; bob mails alice.
    created('Message', { Subject: 'New mail', ToRecipients: [alice], send: true }, bob);
    const request = replace(published('getevents'), {
      'f6bc657d-dde1-4f94-952d-143b95d6483d': pull.id,
      'AAAAAMAGAAAAAAAAAQ==': pull.watermark,
    });
    const answer = await post(request);
    expectAsExchange(answer, exchangeAnswer('getevents'), [`${first('GetEvents')}/Notification`]);
  });

  it('GetStreamingEvents: as published its SubscriptionId is in the messages namespace and is refused', async () => {
    // The operation page's request puts SubscriptionId in the default (messages) namespace; types.xsd has it in the
    // types namespace, as the streaming how-to page writes it. Sent with the subscription's real id.
    const request = replace(published('getstreamingevents'), { 'f6bc657d-dde1-4f94-952d-143b95d6483d': streaming });
    expect(codeOf(await post(request))).toBe('ErrorSchemaValidation');
  });

  it('GetStreamingEvents: new mail on the stream, as in the example', async () => {
    // The how-to page's request (SOAP namespace corrected to http, as above) with the subscription's real id;
    // bob mails alice once the stream is open. Compared with the operation page's answer (test/fixtures/ews/
    // getstreamingevents-new-mail.xml): CreatedEvent, NewMailEvent, ModifiedEvent of the Inbox.
    const request = replace(published('getstreamingevents-how-to'), {
      'https://schemas.xmlsoap.org': 'http://schemas.xmlsoap.org',
      'JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAADwXxVesOnHS5BxUHKwAW88SHjwd1iB0Ag=': streaming,
    });
    const abort = new AbortController();
    const response = await fetch(emulator.url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', authorization: basic(alice, emulator.password) },
      body: request,
      signal: abort.signal,
    });
    const reader = response.body?.getReader();
    if (!reader) throw new Error('no stream');
    created('Message', { Subject: 'Streamed mail', ToRecipients: [alice], send: true }, bob);
    let text = '';
    const decoder = new TextDecoder();
    const envelopes = () => text.match(/<(?:\w+:)?Envelope[\s\S]*?<\/(?:\w+:)?Envelope>/g) ?? [];
    while (!envelopes().some((e) => e.includes('NewMailEvent'))) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended without new mail: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    abort.abort();
    const envelope = envelopes().find((e) => e.includes('NewMailEvent')) ?? '';
    const example = parseXml(
      readFileSync(new URL('../fixtures/ews/getstreamingevents-new-mail.xml', import.meta.url), 'utf8'),
    );
    expectAsExchange({ text: envelope, xml: parseXml(envelope) }, example, [
      `${first('GetStreamingEvents')}/Notifications`,
    ]);
  });

  it('Unsubscribe as published: no such subscription, ErrorSubscriptionNotFound', async () => {
    expectAsExchange(await post(published('unsubscribe')), exchangeAnswer('unsubscribe-error'));
  });

  it("Unsubscribe: the pull subscription's id in place of the example's", async () => {
    const request = replace(published('unsubscribe'), { 'e6fbf5c1-7e26-4bc6-a5f2-882063d5e34e': pull.id });
    expectAsExchange(await post(request), exchangeAnswer('unsubscribe'));
  });
});

describe('ResolveNames, GetServerTimeZones, GetUserOofSettings, GetUserAvailability, ConvertId', () => {
  it('ResolveNames with ReturnFullContactData: one mailbox, with its directory contact', async () => {
    // The example's User2 is not here: the entry is bob's name.
    // bob's directory entry has a given name, which the example's User2 had not (the contact's GivenName is data).
    const answer = await post(replace(published('resolvenames'), { '>User2<': '>bob<' }));
    expectAsExchange(answer, exchangeAnswer('resolvenames'), [`${first('ResolveNames')}/ResolutionSet`], ['GivenName']);
  });

  for (const name of ['getservertimezones', 'getservertimezones-full']) {
    it(`GetServerTimeZones (${name === 'getservertimezones' ? 'names only' : 'full definitions'}): as published it is not XML`, async () => {
      // The page closes <t:Id> with </Id>: not well-formed, which Exchange answers with ErrorSchemaValidation.
      const asPublished = published(name);
      expect(codeOf(await post(asPublished))).toBe('ErrorSchemaValidation');
      const answer = await post(asPublished.replaceAll('</Id>', '</t:Id>'));
      // The zones' rules are data (Exchange 2010 listed Eastern time's 2006 and 2007 rules; the emulator has the
      // rules in force), so the full definitions are compared as far as their kinds of element go: periods, the
      // recurring transitions of a group, the first transition.
      const paths =
        name === 'getservertimezones'
          ? [`${first('GetServerTimeZones')}/TimeZoneDefinitions`]
          : [
              `${first('GetServerTimeZones')}/TimeZoneDefinitions/TimeZoneDefinition/Periods`,
              `${first('GetServerTimeZones')}/TimeZoneDefinitions/TimeZoneDefinition/TransitionsGroups/TransitionsGroup`,
              `${first('GetServerTimeZones')}/TimeZoneDefinitions/TimeZoneDefinition/Transitions/Transition`,
            ];
      expectAsExchange(answer, exchangeAnswer(name), paths);
    });
  }

  it("GetUserOofSettings of the caller's own mailbox", async () => {
    // The example's User1@example.com is alice (the caller) here; her settings are set as the example's answer has
    // them (a scheduled Duration and both replies), since what a mailbox holds is data.
    const set = await post(
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Body>' +
        `<m:SetUserOofSettingsRequest><t:Mailbox><t:Address>${alice}</t:Address></t:Mailbox><t:UserOofSettings>` +
        '<t:OofState>Disabled</t:OofState><t:ExternalAudience>All</t:ExternalAudience>' +
        '<t:Duration><t:StartTime>2006-11-03T23:00:00</t:StartTime><t:EndTime>2006-11-04T23:00:00</t:EndTime></t:Duration>' +
        '<t:InternalReply><t:Message>I am out of office. This is my internal reply.</t:Message></t:InternalReply>' +
        '<t:ExternalReply><t:Message>I am out of office. This is my external reply.</t:Message></t:ExternalReply>' +
        '</t:UserOofSettings></m:SetUserOofSettingsRequest></soap:Body></soap:Envelope>',
    );
    expect(codeOf(set)).toBe('NoError');
    const answer = await post(replace(published('getuseroofsettings'), { 'User1@example.com': alice }));
    expectAsExchange(answer, exchangeAnswer('getuseroofsettings'), ['OofSettings', 'AllowExternalOof']);
  });

  it('GetUserAvailability, DetailedMerged, of two mailboxes on one day', async () => {
    // The example's user1 and user2 are alice (the caller, who sees her own details) and bob; each has an
    // appointment that day (the example's answer has events for both).
    created('CalendarItem', {
      Subject: 'Meet with Contoso Account Executives',
      Start: '2006-10-16T13:00:00Z',
      End: '2006-10-16T13:30:00Z',
      sendInvitations: false,
    });
    created(
      'CalendarItem',
      { Subject: 'Dentist', Start: '2006-10-16T16:00:00Z', End: '2006-10-16T17:00:00Z', sendInvitations: false },
      bob,
    );
    const request = replace(published('getuseravailability'), {
      'user1@example.com': alice,
      'user2@example.com': bob,
    });
    const answer = await post(request);
    // Both views whole: alice's own with event details (DetailedMerged), bob's as free/busy only (FreeBusyMerged,
    // what a colleague may see by default), as in the example.
    expectAsExchange(answer, exchangeAnswer('getuseravailability'), ['FreeBusyResponseArray']);
  });

  it('ConvertId: an EwsId to an OwaId', async () => {
    // The example's EwsId and mailbox are replaced by an item of alice's.
    const item = created('Message', { Subject: 'Convert me' });
    const request = replace(published('convertid'), {
      'AAMkAGZhN2IxYTA0LWNiNzItN=': item.id,
      'user1@example.com': alice,
    });
    const answer = await post(request);
    expectAsExchange(answer, exchangeAnswer('convertid'), [first('ConvertId')]);
  });
});

describe('CreateAttachment, GetAttachment', () => {
  let attachmentId = '';

  it('CreateAttachment: a file attachment', async () => {
    // The example's ParentItemId is replaced by a draft of alice's.
    const draft = created('Message', { Subject: 'Attach to me' });
    const request = replace(published('createattachment'), { 'AAAtAE...': draft.id, 'CQAAABYA...': draft.changeKey });
    const answer = await post(request);
    expectAsExchange(answer, exchangeAnswer('createattachment'), [`${first('CreateAttachment')}/Attachments`]);
    attachmentId = at(answer.xml, `${first('CreateAttachment')}/Attachments/FileAttachment/AttachmentId`).a?.Id ?? '';
  });

  it('CreateAttachment: an item attachment is a known difference (docs/emulator.md)', async () => {
    // Exchange answers Microsoft's example with the new ItemAttachment's id; the emulator keeps file attachments
    // only and refuses it, naming why. This case fails once item attachments are emulated: then compare it with
    // createattachment-item.answer.xml.
    const draft = created('Message', { Subject: 'Attach an item to me' });
    const request = replace(published('createattachment-item'), { 'AAAtAE=': draft.id, CQAAABYA: draft.changeKey });
    const answer = await post(request);
    expect(messagesOf(responseOf(exchangeAnswer('createattachment-item')))).toEqual([
      'CreateAttachmentResponseMessage Success NoError',
    ]);
    expect(messagesOf(responseOf(answer.xml))).toEqual(['CreateAttachmentResponseMessage Error ErrorInvalidRequest']);
    expect(answer.text).toContain('file attachments only');
  });

  it('GetAttachment: the file attachment, its name and content', async () => {
    // The example's AttachmentId is replaced by the one CreateAttachment answered above.
    const answer = await post(replace(published('getattachment'), { 'AAAtAEFkbWluaX...': attachmentId }));
    expectAsExchange(answer, exchangeAnswer('getattachment'), [`${first('GetAttachment')}/Attachments`]);
  });
});

describe('AcceptItem', () => {
  function invitation(subject: string) {
    created('CalendarItem', {
      Subject: subject,
      Start: '2013-11-28T03:00:00Z',
      End: '2013-11-28T03:30:00Z',
      RequiredAttendees: [bob],
    });
    const request = emulator.admin.items(bob, 'inbox').find((i) => i.properties.Subject === subject);
    if (!request) throw new Error(`bob got no request for ${subject}`);
    return request;
  }

  it('AcceptItem on a meeting request, SendAndSaveCopy (Exchange 2007 example)', async () => {
    // The example's ReferenceItemId is replaced by the meeting request alice sent bob; bob answers it. Exchange 2007
    // answered with an empty Items; Exchange from 2013 on names the calendar item and the request moved to Deleted
    // Items (the next case, Microsoft's Exchange 2013 example), as the emulator does, so only the response message
    // is compared here.
    const request = invitation('Accept me');
    const answer = await post(
      replace(published('acceptitem'), { AAAlAFVzZ: request.id, CwAAABYAA: request.changeKey }),
      bob,
    );
    expectAsExchange(answer, exchangeAnswer('acceptitem'));
    expect(emulator.admin.items(alice, 'inbox').some((i) => i.properties.Subject === 'Accepted: Accept me')).toBe(true);
  });

  it('AcceptItem proposing a new time (Exchange 2013 example): the calendar item and the request', async () => {
    // The example's ReferenceItemId is replaced by the meeting request alice sent bob; bob answers it.
    const request = invitation('Propose a time');
    const answer = await post(
      replace(published('acceptitem-propose-new-time'), {
        'AAMkADEzOTExYjJkL1AAA=': request.id,
        'CwAAAB/G6X': request.changeKey,
      }),
      bob,
    );
    expectAsExchange(answer, exchangeAnswer('acceptitem-propose-new-time'), [`${first('CreateItem')}/Items`]);
  });
});
