/**
 * Attachment info, the original service's `name 1: id 1; name 2: id 2;` string (column exh_attachments).
 *
 * Escaping (the same in every dialect's exh_split_attachment_info, docs/database.md "Attachment info"):
 * - in a name or an id, `%` is written `%25`, `:` is written `%3A` and `;` is written `%3B`;
 * - a space at the start or the end of a name or id is written `%20` (elsewhere spaces stay as they are).
 *
 * Percent-encoding was chosen over a backslash escape because, once encoded, a name contains no raw `:` or `;`: the
 * SQL side can split with plain string functions (split_part, CHARINDEX, LOCATE) and decode with nested REPLACE, which
 * all three dialects have, instead of a character-by-character scanner in each. Names without `%`, `:`, `;` and
 * edge spaces (nearly all) look exactly as the original service wrote them.
 *
 * Decoding: split at every `;`; ignore pieces that are empty after trimming spaces; split each piece at its first `:`
 * (no `:` means an empty id); trim spaces around name and id; then replace `%3A`, `%3B`, `%20` and finally `%25`.
 * `%25` must come last so that an encoded `%253A` (a literal "%3A" in a name) decodes to "%3A", not to ":".
 */

export interface AttachmentInfo {
  name: string;
  id: string;
}

function encodePart(text: string): string {
  const escaped = text.replaceAll('%', '%25').replaceAll(':', '%3A').replaceAll(';', '%3B');
  return escaped.replace(/^ /, '%20').replace(/ $/, '%20');
}

function decodePart(text: string): string {
  return trimSpaces(text).replaceAll('%3A', ':').replaceAll('%3B', ';').replaceAll('%20', ' ').replaceAll('%25', '%');
}

/** Only spaces, like SQL's TRIM / btrim / LTRIM(RTRIM()), so that TypeScript and SQL agree on tabs and newlines. */
function trimSpaces(text: string): string {
  return text.replace(/^ +| +$/g, '');
}

export function encodeAttachmentInfo(attachments: readonly AttachmentInfo[]): string {
  return attachments.map((a) => `${encodePart(a.name)}: ${encodePart(a.id)};`).join(' ');
}

export function decodeAttachmentInfo(info: string | null | undefined): AttachmentInfo[] {
  if (!info) return [];
  const result: AttachmentInfo[] = [];
  for (const piece of info.split(';')) {
    if (trimSpaces(piece) === '') continue;
    const colon = piece.indexOf(':');
    const name = colon < 0 ? piece : piece.slice(0, colon);
    const id = colon < 0 ? '' : piece.slice(colon + 1);
    result.push({ name: decodePart(name), id: decodePart(id) });
  }
  return result;
}
