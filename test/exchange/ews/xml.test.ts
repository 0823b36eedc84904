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
});
