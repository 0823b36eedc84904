import { describe, expect, it } from 'vitest';
import { distinguishedFolderIds } from '../../../src/exchange/ews/folders.js';
import { all, at, attr, parseXml } from '../../../src/exchange/ews/xml.js';
import { folderNames } from '../../../src/ports/exchange.port.js';
import { aliceTarget, scriptedServer, soapAnswer, testTransport } from './scripted-server.js';

const found = (name: string) =>
  '<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>' +
  `<t:Folder><t:FolderId Id="id-${name}" ChangeKey="1"/></t:Folder></m:Folders></m:GetFolderResponseMessage>`;
const failed = (code: string) =>
  `<m:GetFolderResponseMessage ResponseClass="Error"><m:MessageText>${code} says no.</m:MessageText>` +
  `<m:ResponseCode>${code}</m:ResponseCode></m:GetFolderResponseMessage>`;
const answer = (messages: string[]) =>
  soapAnswer(
    `<m:GetFolderResponse><m:ResponseMessages>${messages.join('')}</m:ResponseMessages></m:GetFolderResponse>`,
  );

/** The connection's first request: every distinguished folder's id in one GetFolder (src/exchange/ews/folders.ts). */
describe('distinguishedFolderIds', async () => {
  let messages: string[] = [];
  const server = await scriptedServer(() => ({ body: answer(messages) }));
  const transport = testTransport();
  const target = aliceTarget(server.base);
  const ask = () => distinguishedFolderIds(transport, target, new AbortController().signal);

  it('asks for every folder the port names in one request, and maps each id back to its name', async () => {
    messages = folderNames.map(found);
    const ids = await ask();
    const request = at(parseXml(server.received.at(-1)?.body ?? ''), 'Envelope', 'Body', 'GetFolder', 'FolderIds');
    expect(all(request, 'DistinguishedFolderId').map((folder) => attr(folder, 'Id'))).toEqual([...folderNames]);
    expect([...ids]).toEqual(folderNames.map((name) => [`id-${name}`, name]));
  });

  it('works without a folder the mailbox lacks, matching the answers by position', async () => {
    messages = folderNames.map((name) => (name === 'tasks' ? failed('ErrorFolderNotFound') : found(name)));
    const ids = await ask();
    expect([...ids.values()]).toEqual(folderNames.filter((name) => name !== 'tasks'));
    expect(ids.get('id-calendar')).toBe('calendar');
  });

  it("fails with the first folder's error when no folder can be had (an unknown mailbox, denied impersonation)", async () => {
    messages = folderNames.map(() => failed('ErrorNonExistentMailbox'));
    await expect(ask()).rejects.toMatchObject({ code: 'EXH_EXCHANGE_MAILBOX_NOT_FOUND', retryable: false });
    messages = folderNames.map(() => failed('ErrorImpersonateUserDenied'));
    const denied = await ask().catch((error: unknown) => error);
    expect(denied).toMatchObject({ code: 'EXH_EXCHANGE_IMPERSONATION_DENIED' });
    expect((denied as Error).message).toContain('svc@contoso.test');
  });
});
