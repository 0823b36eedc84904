import { describe, expect, it } from 'vitest';
import { maxXmlDepth, type Namespaces, parseXml, XmlSyntaxError } from '../../../emulator/xml/node.js';

describe('parseXml', () => {
  it('reads elements, attributes and text namespace-agnostically, and the namespace of each element apart', () => {
    const namespaces: Namespaces = new Map();
    const root = parseXml(
      '\uFEFF<?xml version="1.0"?>\n<!-- a comment --><s:Envelope xmlns:s="urn:s" xmlns="urn:d">\n' +
        '  <Body t:Id="1" xml:lang="en" xmlns:t="urn:t"><t:Subject>Tom &amp; &#74;erry&#x21;</t:Subject>' +
        '<Empty/><Data><![CDATA[<b>&amp;</b>]]></Data></Body>\n</s:Envelope>\n',
      namespaces,
    );
    expect(root).toEqual({
      n: 'Envelope',
      c: [
        {
          n: 'Body',
          a: { Id: '1', lang: 'en' },
          c: [{ n: 'Subject', t: 'Tom & Jerry!' }, { n: 'Empty' }, { n: 'Data', t: '<b>&amp;</b>' }],
        },
      ],
    });
    const body = root.c?.[0];
    expect(namespaces.get(root)).toBe('urn:s');
    expect(body && namespaces.get(body)).toBe('urn:d');
    expect(body?.c?.[0] && namespaces.get(body.c[0])).toBe('urn:t');
  });

  it('normalises line ends and decodes character references in attributes, as XML prescribes', () => {
    expect(parseXml('<a v="one&#10;two">x\r\ny\rz</a>')).toEqual({ n: 'a', a: { v: 'one\ntwo' }, t: 'x\ny\nz' });
  });

  it('refuses every malformation in the one pass, naming it with its line and column', () => {
    // fast-xml-parser's parser alone read the first nine as if they were fine; its validator let the next two pass.
    const malformed: [string, RegExp][] = [
      ['<a><b></c></a>', /The end tag <\/c> does not close <b> \(line 1, column 7\)/],
      ['<soap:Envelope>\n<soap:Body><m:CreateItem>', /The element <m:CreateItem> is not closed \(line 2/],
      ['<a><b>x</a>', /The end tag <\/a> does not close <b>/],
      ['junk<a/>', /Text outside the root element/],
      ['<a></a></b>', /An end tag without its start tag/],
      ['<a x=1/>', /The value of the attribute x is not quoted/],
      ['<a x="1" x="2"/>', /The attribute x is given twice/],
      ['<a x/>', /The attribute x has no value/],
      ['<a>1 < 2</a>', /A "<" that starts no element/],
      ['<a/>junk', /Text outside the root element/],
      ['<a/><b/>', /exactly one root element/],
      ['<a>&unknown;</a>', /The reference &unknown; is not one XML defines/],
      ['<a>fish & chips</a>', /A "&" that starts no reference/],
      ['<a x="1>2"', /The start tag <a> is not closed/],
      ['<a><!-- open</a>', /A comment is not closed/],
      ['<a><![CDATA[ open</a>', /A CDATA section is not closed/],
      ['', /exactly one root element/],
      ['<a x="1"y="2"/>', /The start tag <a> is malformed/],
      ['<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', /DTD is prohibited/],
    ];
    for (const [text, message] of malformed) {
      expect(() => parseXml(text), text).toThrow(message);
      expect(() => parseXml(text), text).toThrow(XmlSyntaxError);
    }
  });

  it(`refuses elements nested deeper than ${maxXmlDepth}, without a deep recursion`, () => {
    expect(() => parseXml(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`)).toThrow(XmlSyntaxError);
    expect(() => parseXml(`${'<a>'.repeat(maxXmlDepth)}${'</a>'.repeat(maxXmlDepth)}`)).not.toThrow();
  });
});
