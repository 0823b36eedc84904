import { ExchangeVersion, Folder, WellKnownFolderName } from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { emulatorCommandLine, startEmulator } from '../../emulator/index.js';
import { basic, codeOf, errorCodeOf, ewsService, mailboxState, soap, startTestEmulator } from './support/harness.js';

const errors: unknown[] = [];
const logger = { info() {}, warn() {}, debug() {}, error: (obj: unknown) => errors.push(obj) };
const emulator = await startTestEmulator({ bodyLimit: 128 * 1024, logger });
const strict = await startTestEmulator({ impersonationAllowed: false, serviceAccount: 'svc@contoso.test' });
const alice = 'alice@contoso.test';
const getCalendar =
  '<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>';

describe('startEmulator', () => {
  it('listens on a free port and prints the line exh emulator shows', () => {
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx$/);
    expect(emulator.port).toBeGreaterThan(0);
    expect(emulatorCommandLine({ url: emulator.url })).toBe(`EWS emulator listening on ${emulator.url}`);
    expect(emulatorCommandLine({ host: '127.0.0.1', port: 8200 })).toBe(
      'EWS emulator listening on http://127.0.0.1:8200/EWS/Exchange.asmx',
    );
    expect(emulator.serviceAccount).toBe('exh-service@contoso.test');
  });

  it('refuses options it cannot use with a message that names them', async () => {
    await expect(startEmulator({ port: 0, mailboxes: ['alice'] })).rejects.toThrow(
      /mailboxes\.0: must be an SMTP address/,
    );
    await expect(startEmulator({ port: 70000 })).rejects.toThrow(/port:/);
  });
});

describe('authentication', () => {
  it('answers 401 with a Basic challenge without credentials or with a wrong password', async () => {
    const none = await fetch(emulator.url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<x/>' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    const wrong = await soap(emulator, getCalendar, { impersonate: alice, password: 'nope' });
    expect(wrong.status).toBe(401);
    const library = ewsService(emulator, alice, { password: 'nope' });
    expect(await errorCodeOf(() => Folder.Bind(library, WellKnownFolderName.Calendar))).toBe('HTTP 401');
  });

  it('checks credentials before reading the body: a large anonymous POST gets 401, not 413', async () => {
    const big = `<x>${'a'.repeat(300 * 1024)}</x>`;
    const anonymous = await fetch(emulator.url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: big });
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(emulator.url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml', authorization: basic(emulator.serviceAccount, 'nope') },
      body: big,
    });
    expect(wrong.status).toBe(401);
  });

  it('lets a mailbox owner use their own mailbox without impersonation', async () => {
    const bob = ewsService(emulator, 'bob@contoso.test', { account: 'bob@contoso.test', impersonate: null });
    const calendar = await Folder.Bind(bob, WellKnownFolderName.Calendar);
    expect(calendar.DisplayName).toBe('Calendar');
  });

  it('reports ServerVersionInfo in every answer', async () => {
    const service = ewsService(emulator, alice);
    await Folder.Bind(service, WellKnownFolderName.Inbox);
    expect(service.ServerInfo.MajorVersion).toBe(15);
    expect(service.ServerInfo.MinorVersion).toBe(1);
  });
});

describe('impersonation', () => {
  it('lets the service account impersonate a mailbox', async () => {
    const inbox = await Folder.Bind(ewsService(emulator, alice), WellKnownFolderName.Inbox);
    expect(inbox.DisplayName).toBe('Inbox');
  });

  it('answers ErrorImpersonateUserDenied to an account without the right', async () => {
    const bob = ewsService(emulator, alice, { account: 'bob@contoso.test' });
    expect(await errorCodeOf(() => Folder.Bind(bob, WellKnownFolderName.Inbox))).toBe('ErrorImpersonateUserDenied');
    const service = ewsService(strict, alice);
    expect(await errorCodeOf(() => Folder.Bind(service, WellKnownFolderName.Inbox))).toBe('ErrorImpersonateUserDenied');
  });

  it('answers ErrorNonExistentMailbox for a user without a mailbox, and for the service account itself', async () => {
    const nobody = ewsService(emulator, 'nobody@contoso.test', { anchor: null });
    expect(await errorCodeOf(() => Folder.Bind(nobody, WellKnownFolderName.Inbox))).toBe('ErrorNonExistentMailbox');
    const itself = ewsService(emulator, alice, { impersonate: null });
    expect(await errorCodeOf(() => Folder.Bind(itself, WellKnownFolderName.Inbox))).toBe('ErrorNonExistentMailbox');
  });

  it("honours X-AnchorMailbox: routes to the anchor mailbox's server, and refuses an unknown one", async () => {
    const routed = await soap(emulator, getCalendar, { impersonate: alice, headers: { 'x-anchormailbox': alice } });
    expect(routed.status).toBe(200);
    expect(routed.headers.get('x-calculatedbetarget')).toMatch(/^exh-mbx[12]\.contoso\.test$/);
    const unknown = await soap(emulator, getCalendar, {
      impersonate: alice,
      headers: { 'x-anchormailbox': 'ghost@contoso.test' },
    });
    expect(unknown.status).toBe(500);
    expect(unknown.text).toContain('a:ErrorNonExistentMailbox');
  });
});

describe('versions', () => {
  it('accepts Exchange2007_SP1 and later and answers ErrorInvalidServerVersion otherwise', async () => {
    const old = ewsService(emulator, alice, { version: ExchangeVersion.Exchange2007_SP1 });
    expect((await Folder.Bind(old, WellKnownFolderName.Calendar)).DisplayName).toBe('Calendar');
    const bad = await soap(emulator, getCalendar, { impersonate: alice, version: 'Exchange1999' });
    expect(bad.status).toBe(500);
    expect(bad.text).toContain('a:ErrorInvalidServerVersion');
  });
});

describe('bad input', () => {
  const auth = () => basic(emulator.serviceAccount, emulator.password);
  const post = (body: string, type = 'text/xml; charset=utf-8') =>
    fetch(emulator.url, { method: 'POST', headers: { 'content-type': type, authorization: auth() }, body });

  it('answers malformed XML, DTDs and unknown operations with SOAP faults and changes nothing', async () => {
    emulator.admin.createItem(alice, { kind: 'Task', Subject: 'Keep me' });
    const before = mailboxState(emulator);
    const malformed = await post('<soap:Envelope><soap:Body><m:CreateItem>');
    expect(malformed.status).toBe(500);
    expect(await malformed.text()).toContain('a:ErrorSchemaValidation');
    const dtd = await post('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>');
    expect(await dtd.text()).toContain('DTD is prohibited');
    const unknown = await soap(emulator, '<m:ExpandDL/>', { impersonate: alice });
    expect(unknown.status).toBe(500);
    expect(unknown.text).toContain('does not implement ExpandDL');
    const notSoap = await post('<hello/>');
    expect(await notSoap.text()).toContain('a:ErrorSchemaValidation');
    const markup = await soap(
      emulator,
      '<m:CreateItem><m:Items><t:Task><t:Subject>a <b>bold</b> task</t:Subject></t:Task></m:Items></m:CreateItem>',
      { impersonate: alice },
    );
    expect(codeOf(markup)).toBe('ErrorSchemaValidation');
    expect(mailboxState(emulator)).toEqual(before);
  });

  it('refuses a document nested too deeply as ErrorSchemaValidation, without an internal error', async () => {
    const depth = 5000;
    const restriction = `${'<t:Not>'.repeat(depth)}<t:Exists><t:FieldURI FieldURI="item:Subject"/></t:Exists>${'</t:Not>'.repeat(depth)}`;
    const deep = await soap(
      emulator,
      `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:Restriction>${restriction}</m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>`,
      { impersonate: alice },
    );
    expect(deep.status).toBe(500);
    expect(codeOf(deep)).toBe('ErrorSchemaValidation');
    expect(errors).toEqual([]);
  });

  it('answers an oversized body with 413 and a body that is not XML with 415', async () => {
    const big = await post(`<x>${'a'.repeat(200 * 1024)}</x>`);
    expect(big.status).toBe(413);
    const json = await post('{"a":1}', 'application/json');
    expect(json.status).toBe(415);
  });

  it('keeps serving after all of that', async () => {
    const ok = await soap(emulator, getCalendar, { impersonate: alice });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('ResponseClass="Success"');
  });
});
