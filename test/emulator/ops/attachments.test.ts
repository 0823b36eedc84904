import {
  BodyType,
  ConflictResolutionMode,
  EmailMessage,
  type FileAttachment,
  ItemId,
  MessageBody,
  PropertySet,
  ServiceError,
  Task,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { ewsService, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const service = ewsService(emulator, 'alice@contoso.test');
const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('attachments', () => {
  it('creates a file attachment, lists it on the item and returns its bytes with GetAttachment', async () => {
    const message = new EmailMessage(service);
    message.Subject = 'With file';
    message.Body = new MessageBody(BodyType.Text, 'see attached');
    await message.Save(WellKnownFolderName.Drafts);
    const keyBefore = message.Id.ChangeKey;
    message.Attachments.AddFileAttachment('all-bytes.bin', bytes.toString('base64'));
    await message.Update(ConflictResolutionMode.AlwaysOverwrite);

    const read = await EmailMessage.Bind(service, message.Id, PropertySet.FirstClassProperties);
    expect(read.HasAttachments).toBe(true);
    expect(read.Id.ChangeKey).not.toBe(keyBefore);
    const listed = read.Attachments._getItem(0) as FileAttachment;
    expect(listed.Name).toBe('all-bytes.bin');
    expect(listed.Size).toBe(256);

    const [loaded] = (await service.GetAttachments([listed.Id], null as never, null as never)).Responses;
    const file = loaded?.Attachment as FileAttachment;
    expect(Buffer.from(file.Base64Content, 'base64').equals(bytes)).toBe(true);
  });

  it('removes an attachment with DeleteAttachment, after which its id is unknown', async () => {
    const created = emulator.admin.createItem('alice@contoso.test', {
      kind: 'Task',
      Subject: 'Attached',
      Attachments: [{ Name: 'a.txt', ContentType: 'text/plain', Content: Buffer.from('hello').toString('base64') }],
    });
    const task = await Task.Bind(service, new ItemId(created?.id ?? ''), PropertySet.FirstClassProperties);
    const attachmentId = task.Attachments._getItem(0).Id;
    task.Attachments.RemoveAt(0);
    await task.Update(ConflictResolutionMode.AlwaysOverwrite);
    expect(emulator.admin.item('alice@contoso.test', created?.id ?? '').attachments).toEqual([]);
    const answer = await service.GetAttachments([attachmentId], null as never, null as never);
    expect(ServiceError[answer.Responses[0]?.ErrorCode ?? 0]).toBe('ErrorInvalidAttachmentId');
  });
});
