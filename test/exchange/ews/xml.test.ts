import { describe, expect, it } from 'vitest';
import { all, at, attr, entries, escapeXml, hasDtd, parseXml, textOf } from '../../../src/exchange/ews/xml.js';

const envelope = `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
  xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
  <s:Body><m:GetFolderResponse><m:ResponseMessages>
    <m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>
      <m:Folders><t:CalendarFolder><t:FolderId Id="AAMk=cal" ChangeKey="1"/></t:CalendarFolder></m:Folders>
    </m:GetFolderResponseMessage>
    <m:GetFolderResponseMessage ResponseClass="Error"><m:MessageText>  Not &amp; here </m:MessageText>
      <m:ResponseCode>ErrorFolderNotFound</m:ResponseCode><m:Empty/>
    </m:GetFolderResponseMessage>
  </m:ResponseMessages></m:GetFolderResponse></s:Body>
</s:Envelope>`;

describe('the little XML reader', () => {
  const messages = all(
    at(parseXml(envelope), 'Envelope', 'Body', 'GetFolderResponse', 'ResponseMessages'),
    'GetFolderResponseMessage',
  );

  it('reads elements by name whatever their prefix, one or many alike, attributes by name', () => {
    expect(messages).toHaveLength(2);
    const [success, failure] = messages;
    expect(attr(success, 'ResponseClass')).toBe('Success');
    expect(attr(at(success, 'Folders', 'CalendarFolder', 'FolderId'), 'Id')).toBe('AAMk=cal');
    expect(attr(failure, 'ResponseClass')).toBe('Error');
    // A single element is still a list of one; a missing one, an empty list or undefined.
    expect(all(success, 'Folders')).toHaveLength(1);
    expect(all(success, 'Items')).toEqual([]);
    expect(at(success, 'Folders', 'ContactsFolder')).toBeUndefined();
    expect(attr(at(success, 'Nothing'), 'Id')).toBeUndefined();
  });

  it('gives text as it is written, entities decoded, and an empty element as the empty string', () => {
    const failure = messages[1];
    expect(textOf(failure, 'MessageText')).toBe('  Not & here ');
    expect(textOf(failure, 'ResponseCode')).toBe('ErrorFolderNotFound');
    expect(textOf(failure, 'Empty')).toBe('');
    expect(textOf(failure, 'Missing')).toBeUndefined();
    expect(textOf(parseXml('<a Id="1">text</a>'), 'a')).toBe('text');
  });

  it('lists child elements with their names, without attributes or text', () => {
    const [success] = messages;
    expect(entries(success).map(([name]) => name)).toEqual(['ResponseCode', 'Folders']);
    expect(entries(parseXml('<n><A/><B/><A x="1"/>text</n>').n).map(([name]) => name)).toEqual(['A', 'A', 'B']);
    expect(entries('plain text')).toEqual([]);
  });

  it('refuses a DTD unread (entity expansion, external entities) and anything that is not XML', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>';
    expect(hasDtd(bomb)).toBe(true);
    expect(hasDtd('<a>no doctype, only the word DOCTYPE in text</a>')).toBe(false);
    expect(() => parseXml(bomb)).toThrow('a DTD is not allowed in SOAP');
    expect(() => parseXml('<!doctype x SYSTEM "file:///etc/passwd"><x/>')).toThrow('a DTD is not allowed in SOAP');
    expect(() => parseXml('<a><b></a>')).toThrow();
  });

  it('escapes the five predefined entities, so that any parser reads the text back as it was', () => {
    const text = `Tom & "Jerry" <tom@x.test> isn't`;
    expect(escapeXml(text)).toBe('Tom &amp; &quot;Jerry&quot; &lt;tom@x.test&gt; isn&apos;t');
    expect(textOf(parseXml(`<a v="${escapeXml(text)}">${escapeXml(text)}</a>`), 'a')).toBe(text);
    expect(attr(parseXml(`<a v="${escapeXml(text)}"/>`).a, 'v')).toBe(text);
  });

  it('refuses every malformation as it reads, naming it with its line and column', () => {
    // fast-xml-parser's parser alone read the first nine as if they were fine; its validator let the last three pass.
    const malformed: [string, RegExp][] = [
      ['<a><b></c></a>', /the end tag <\/c> does not close <b> \(line 1, column 7\)/],
      ['<a>\n<b>x</b>', /the element <a> is not closed \(line 2/],
      ['<a><b>x</a>', /the end tag <\/a> does not close <b>/],
      ['junk<a/>', /text outside the root element/],
      ['<a></a></b>', /an end tag without its start tag/],
      ['<a x=1/>', /the value of the attribute x is not quoted/],
      ['<a x="1" x="2"/>', /the attribute x is given twice/],
      ['<a x/>', /the attribute x has no value/],
      ['<a>1 < 2</a>', /a "<" that starts no element/],
      ['<a/>junk', /text outside the root element/],
      ['<a/><b/>', /a second root element/],
      ['<a>&unknown;</a>', /the reference &unknown; is not one XML defines/],
      ['<a>fish & chips</a>', /a "&" that starts no reference/],
      ['<a x="1>2"', /the start tag <a> is not closed/],
      ['<a x="<"/>', /holds a "<"/],
      ['<a><!-- open</a>', /a comment is not closed/],
      ['<a><![CDATA[ open</a>', /a CDATA section is not closed/],
      ['<1a/>', /a "<" that starts no element/],
      ['', /no root element/],
      ['<a x="1"y="2"/>', /the start tag <a> is malformed/],
      ['<a>&#0;</a>', /the reference &#0; is not one XML defines/],
    ];
    for (const [text, message] of malformed) expect(() => parseXml(text), text).toThrow(message);
  });

  it('refuses elements nested deeper than 256, without a deep recursion', () => {
    expect(() => parseXml(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`)).toThrow(/nested deeper than 256/);
    expect(() => parseXml(`${'<a>'.repeat(256)}${'</a>'.repeat(256)}`)).not.toThrow();
  });

  it('decodes character references and normalises line ends, as XML prescribes', () => {
    expect(textOf(parseXml('<a>&#65;&#x42;&#x1F600;</a>'), 'a')).toBe('AB\u{1F600}');
    expect(attr(parseXml('<a v="one&#10;two"/>').a, 'v')).toBe('one\ntwo');
    expect(textOf(parseXml('<a>x\r\ny\rz</a>'), 'a')).toBe('x\ny\nz');
  });

  it('reads the shapes fast-xml-parser gave: text, empty, attributes, repeated, mixed, CDATA, comments', () => {
    const document =
      '\uFEFF<?xml version="1.0"?>\n<!-- before --><s:a xmlns:s="urn:s" xmlns="urn:d" s:k="1" xml:lang="en">\n' +
      ' <b>1</b>\n <b x="1">2</b><c/><d x="1"/><e><![CDATA[<x>&amp;]]></e><f><![CDATA[]]></f>x<!-- c -->y<?pi z?>\n' +
      '<__proto__>p</__proto__></s:a>\n';
    expect(parseXml(document)).toEqual({
      a: {
        b: ['1', { '#text': '2', '@x': '1' }],
        c: '',
        d: { '@x': '1' },
        e: '<x>&amp;',
        f: '',
        ['__proto__']: 'p',
        '#text': '\n \n xy\n',
        '@k': '1',
        '@lang': 'en',
      },
    });
    expect(Object.getPrototypeOf(parseXml('<a><__proto__/></a>').a)).toBe(Object.prototype);
  });
});
