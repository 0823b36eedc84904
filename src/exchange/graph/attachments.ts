import type { Attachment, UploadSession } from '@microsoft/microsoft-graph-types';
import { errors } from '../../errors.js';
import type { AttachmentRef, CallOptions } from '../../ports/exchange.port.js';
import type { GraphMailbox } from './connection.js';
import { located } from './locate.js';

/**
 * Attachments through Graph: the names and ids of an item's attachments (by $batch, for the items a delta page
 * reports with attachments), one attachment's bytes (`/$value`, its size checked first), and adding a file: under
 * 3 MB in one POST, up to 150 MB through an upload session in ranges of at most 4 MB (the session's URL carries its
 * own authorisation, so the ranges go without the token), larger ones refused
 * (https://learn.microsoft.com/graph/outlook-large-attachments).
 */

export const inlineLimit = 3 * 1024 * 1024;
export const uploadLimit = 150 * 1024 * 1024;
export const rangeBytes = 4 * 1024 * 1024;

/** For each item path, its attachments (null: none), or the error Graph gave for it. */
export async function attachmentRefsOf(
  mailbox: GraphMailbox,
  paths: readonly string[],
  options: CallOptions,
): Promise<Array<AttachmentRef[] | null | Error>> {
  const results = await mailbox.batch(
    paths.map((path, index) => ({
      id: String(index),
      method: 'GET' as const,
      url: `${path}/attachments?$select=id,name`,
    })),
    options,
  );
  return results.map((result) => {
    if (!result.ok) return result.error;
    const list = ((result.response.body as { value?: Attachment[] } | undefined)?.value ?? []).flatMap((a) =>
      a.id ? [{ name: a.name ?? '', id: a.id }] : [],
    );
    return list.length > 0 ? list : null;
  });
}

export async function getAttachment(
  mailbox: GraphMailbox,
  itemId: string,
  attachmentId: string,
  options: CallOptions & { maxBytes: number },
): Promise<{ name: string; contentType: string; content: Buffer }> {
  const { path } = await located(mailbox, itemId, options);
  const url = `${path}/attachments/${encodeURIComponent(attachmentId)}`;
  const meta = await mailbox.send<Attachment>(
    { method: 'GET', url: `${url}?$select=id,name,contentType,size` },
    options,
  );
  const size = meta.body?.size ?? 0;
  // Checked before the bytes are fetched.
  if (size > options.maxBytes) throw errors.attachmentTooLarge(mailbox.user, attachmentId, size, options.maxBytes);
  const value = await mailbox.send<unknown>({ method: 'GET', url: `${url}/$value` }, options);
  // Bytes that happen to be JSON were parsed by the client: their base64 form (contentBytes) is exact.
  const content = Buffer.isBuffer(value.body) ? value.body : await contentBytes(mailbox, url, options);
  if (content.length > options.maxBytes) {
    throw errors.attachmentTooLarge(mailbox.user, attachmentId, content.length, options.maxBytes);
  }
  return {
    name: meta.body?.name ?? '',
    contentType: meta.body?.contentType ?? value.headers.get('content-type') ?? 'application/octet-stream',
    content,
  };
}

async function contentBytes(mailbox: GraphMailbox, url: string, options: CallOptions): Promise<Buffer> {
  const answer = await mailbox.send<{ contentBytes?: string }>({ method: 'GET', url }, options);
  return Buffer.from(answer.body?.contentBytes ?? '', 'base64');
}

export async function addAttachment(
  mailbox: GraphMailbox,
  itemId: string,
  attachment: { name: string; contentType: string; content: Buffer },
  options: CallOptions,
): Promise<{ attachmentId: string }> {
  const size = attachment.content.length;
  if (size > uploadLimit) {
    throw errors.exchangeRequestFailed(
      mailbox.endpoint,
      'AttachmentTooLarge',
      `${attachment.name} has ${size} bytes; Outlook takes attachments of at most ${uploadLimit} bytes (150 MB) ` +
        'through Graph: share a link to the file instead',
    );
  }
  const { kind, path } = await located(mailbox, itemId, options);
  const task = kind === 'task';
  if (size < inlineLimit) {
    const created = await mailbox.send<Attachment>(
      {
        method: 'POST',
        url: `${path}/attachments`,
        body: {
          '@odata.type': task ? '#microsoft.graph.taskFileAttachment' : '#microsoft.graph.fileAttachment',
          name: attachment.name,
          contentType: attachment.contentType,
          contentBytes: attachment.content.toString('base64'),
        },
      },
      options,
    );
    if (!created.body?.id) throw errors.exchangeRequestFailed(mailbox.endpoint, 'attachments', 'the answer has no id');
    return { attachmentId: created.body.id };
  }
  const item = { attachmentType: 'file', name: attachment.name, size, contentType: attachment.contentType };
  const session = await mailbox.send<UploadSession>(
    {
      method: 'POST',
      url: `${path}/attachments/createUploadSession`,
      body: task ? { attachmentInfo: item } : { AttachmentItem: item },
    },
    options,
  );
  const uploadUrl = session.body?.uploadUrl;
  if (!uploadUrl) throw errors.exchangeRequestFailed(mailbox.endpoint, 'createUploadSession', 'no uploadUrl');
  let last: { headers: Headers; body: unknown } | undefined;
  for (let start = 0; start < size; start += rangeBytes) {
    const end = Math.min(size, start + rangeBytes);
    last = await mailbox.send(
      {
        method: 'PUT',
        url: uploadUrl,
        rawBody: attachment.content.subarray(start, end),
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `bytes ${start}-${end - 1}/${size}`,
        },
        anonymous: true,
      },
      options,
    );
  }
  const attachmentId = attachmentIdOf(last);
  if (attachmentId) return { attachmentId };
  // The last answer did not say (To Do's does not): the newest attachment of that name is it.
  const list = await mailbox.send<{ value?: Attachment[] }>(
    { method: 'GET', url: `${path}/attachments?$select=id,name` },
    options,
  );
  const found = [...(list.body?.value ?? [])].reverse().find((a) => a.name === attachment.name);
  if (!found?.id)
    throw errors.exchangeRequestFailed(mailbox.endpoint, 'upload', 'the uploaded attachment is not there');
  return { attachmentId: found.id };
}

/** The attachment id in the upload's last answer: its body's id, or Location's `Attachments('…')`. */
function attachmentIdOf(answer: { headers: Headers; body: unknown } | undefined): string | undefined {
  const id = (answer?.body as { id?: unknown } | undefined)?.id;
  if (typeof id === 'string' && id !== '') return id;
  const location = answer?.headers.get('location') ?? '';
  const match = /attachments\('([^']+)'\)/i.exec(location) ?? /attachments\/([^/?]+)/i.exec(location);
  return match?.[1] ? decodeURIComponent(match[1]) : undefined;
}
