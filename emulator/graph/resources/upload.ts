import { randomBytes } from 'node:crypto';
import type { Core } from '../../context.js';
import { isoSeconds } from '../../items/values.js';
import { badRequest, GraphError, type GraphResponse, jsonBody, type MailboxRequest, ok } from '../http.js';
import { immutableIdOf, resolveGraphId, restIdOf } from '../ids.js';
import type { ItemType } from '../item-types.js';
import { viewById } from '../writes.js';
import { storeAttachment } from './attachments.js';

/**
 * Upload sessions for attachments of 3 to 150 MB (https://learn.microsoft.com/graph/outlook-large-attachments):
 * POST …/attachments/createUploadSession answers an `uploadUrl` (no Authorization header is sent to it, as with
 * Graph); each PUT carries `Content-Range: bytes a-b/total` and at most 4 MB, in order; the last one stores the
 * attachment and answers 201 with its URL in Location. A DELETE of the uploadUrl cancels the session.
 */

export const uploadPrefix = '/graph-upload';
const maxAttachment = 150 * 1024 * 1024;
const maxChunk = 4 * 1024 * 1024;
const sessionMs = 15 * 60_000;

interface UploadSession {
  mailbox: string;
  itemImmutableId: string;
  ownerPath: string;
  name: string;
  contentType: string | undefined;
  isInline: boolean;
  contentId: string | undefined;
  size: number;
  chunks: Buffer[];
  received: number;
  expires: number;
}

const sessions = new WeakMap<Core, Map<string, UploadSession>>();

function sessionsOf(core: Core): Map<string, UploadSession> {
  let map = sessions.get(core);
  if (!map) {
    map = new Map();
    sessions.set(core, map);
  }
  return map;
}

export function createUploadSession(
  request: MailboxRequest,
  type: ItemType,
  id: string,
  ownerPath: string,
): GraphResponse {
  const view = viewById(request.mailbox, id, type.kinds);
  const body = jsonBody(request);
  // Outlook items take an AttachmentItem, To Do tasks an attachmentInfo.
  const item = (body.AttachmentItem ?? body.attachmentItem ?? body.attachmentInfo) as
    | Record<string, unknown>
    | undefined;
  if (!item || typeof item !== 'object')
    throw badRequest('createUploadSession needs an AttachmentItem (attachmentInfo for tasks).');
  if (String(item.attachmentType ?? 'file') !== 'file') throw badRequest('Only file attachments can be uploaded.');
  const size = Number(item.size);
  if (!Number.isInteger(size) || size < 1)
    throw badRequest('AttachmentItem.size must be the attachment size in bytes.');
  if (size > maxAttachment)
    throw badRequest(
      `The attachment is ${size} bytes; Outlook takes at most 150 MB (${maxAttachment} bytes).`,
      'ErrorAttachmentSizeShouldNotBeGreaterThanMaxSize',
    );
  const token = randomBytes(24).toString('base64url');
  const expires = request.core.now() + sessionMs;
  sessionsOf(request.core).set(token, {
    mailbox: request.mailbox.address,
    itemImmutableId: immutableIdOf(view.item),
    ownerPath,
    name: typeof item.name === 'string' ? item.name : 'attachment',
    contentType: typeof item.contentType === 'string' ? item.contentType : undefined,
    isInline: item.isInline === true,
    contentId: typeof item.contentId === 'string' ? item.contentId : undefined,
    size,
    chunks: [],
    received: 0,
    expires,
  });
  return ok(
    {
      '@odata.context': `${request.origin}/graph/v1.0/$metadata#microsoft.graph.uploadSession`,
      uploadUrl: `${request.origin}${uploadPrefix}/${token}`,
      expirationDateTime: isoSeconds(expires),
      nextExpectedRanges: ['0-'],
    },
    201,
  );
}

function uploadError(status: number, code: string, message: string): GraphError {
  return new GraphError(status, code, message);
}

/** One PUT to an upload URL. */
export function uploadChunk(
  core: Core,
  token: string,
  contentRange: string | undefined,
  chunk: Buffer,
  origin: string,
): GraphResponse {
  const all = sessionsOf(core);
  const session = all.get(token);
  if (!session || session.expires <= core.now()) {
    all.delete(token);
    throw uploadError(404, 'ErrorItemNotFound', 'The upload session does not exist or has expired.');
  }
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange ?? '');
  if (!range) throw uploadError(400, 'InvalidContentRange', 'Content-Range must be "bytes first-last/total".');
  const [first, last, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
  if (total !== session.size)
    throw uploadError(400, 'InvalidContentRange', `The total must be ${session.size}, the size given.`);
  if (first !== session.received)
    throw uploadError(416, 'InvalidRange', `Expected the range starting at byte ${session.received}.`);
  if (last < first || last >= total || chunk.length !== last - first + 1)
    throw uploadError(400, 'InvalidContentRange', 'The body length does not match Content-Range.');
  if (chunk.length > maxChunk)
    throw uploadError(413, 'RequestEntityTooLarge', `A range may carry at most 4 MB (${maxChunk} bytes).`);
  session.chunks.push(chunk);
  session.received += chunk.length;
  if (session.received < session.size)
    return ok({ expirationDateTime: isoSeconds(session.expires), nextExpectedRanges: [`${session.received}-`] });
  all.delete(token);
  const mailbox = core.store.get(session.mailbox);
  const resolved = mailbox ? resolveGraphId(mailbox, session.itemImmutableId) : undefined;
  if (!mailbox || !resolved) throw uploadError(404, 'ErrorItemNotFound', 'The item of the upload session is gone.');
  const attachment = storeAttachment({ core, mailbox }, resolved.item, {
    name: session.name,
    contentType: session.contentType,
    isInline: session.isInline,
    contentId: session.contentId,
    content: Buffer.concat(session.chunks).toString('base64'),
  });
  return {
    status: 201,
    headers: { location: `${origin}/graph/v1.0${session.ownerPath}/attachments/${restIdOf(attachment.id)}` },
  };
}

export function cancelUpload(core: Core, token: string): GraphResponse {
  sessionsOf(core).delete(token);
  return { status: 204 };
}
