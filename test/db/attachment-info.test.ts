import { describe, expect, it } from 'vitest';
import { decodeAttachmentInfo, encodeAttachmentInfo } from '../../src/db/attachment-info.js';

describe('attachment info', () => {
  it('writes the documented format (docs/database.md, Attachment info) for ordinary names', () => {
    expect(
      encodeAttachmentInfo([
        { name: 'report.pdf', id: 'AAMkAGI2=' },
        { name: 'photo 1.jpg', id: 'BBB/+' },
      ]),
    ).toBe('report.pdf: AAMkAGI2=; photo 1.jpg: BBB/+;');
    expect(decodeAttachmentInfo('report.pdf: AAMkAGI2=; photo 1.jpg: BBB/+;')).toEqual([
      { name: 'report.pdf', id: 'AAMkAGI2=' },
      { name: 'photo 1.jpg', id: 'BBB/+' },
    ]);
  });

  it('escapes ":", ";", "%" and edge spaces as documented', () => {
    expect(encodeAttachmentInfo([{ name: 'a:b;c%d', id: 'x' }])).toBe('a%3Ab%3Bc%25d: x;');
    expect(encodeAttachmentInfo([{ name: ' padded ', id: 'x' }])).toBe('%20padded%20: x;');
    // A literal "%3A" in a name is not taken for an escaped colon.
    expect(encodeAttachmentInfo([{ name: '%3A', id: 'x' }])).toBe('%253A: x;');
  });

  it('round-trips names and ids whatever they contain', () => {
    const awkward = [
      '',
      ' ',
      ':',
      ';',
      '%',
      '%25',
      '%3A%3B',
      'a: b; c',
      ' x ',
      'tab\there',
      'new\nline',
      'ü€ 😀',
      ';;:',
    ];
    const attachments = awkward.flatMap((name, i) => [
      { name, id: `id-${i}` },
      { name: `file ${i}`, id: name || 'x' },
    ]);
    expect(decodeAttachmentInfo(encodeAttachmentInfo(attachments))).toEqual(attachments);
  });

  it('reads nothing from null, empty or separator-only info', () => {
    expect(decodeAttachmentInfo(null)).toEqual([]);
    expect(decodeAttachmentInfo('')).toEqual([]);
    expect(decodeAttachmentInfo(' ; ;')).toEqual([]);
    expect(decodeAttachmentInfo('no-colon;')).toEqual([{ name: 'no-colon', id: '' }]);
  });
});
