import { describe, expect, it } from 'vitest';
import { getItems, itemShape } from '../../../src/exchange/ews/items.js';
import { appItemIdFieldUri } from '../../../src/exchange/ews/properties.js';
import { all, at, attr, escapeXml, parseXml, textOf } from '../../../src/exchange/ews/xml.js';
import { aliceTarget, scriptedServer, soapAnswer, testTransport } from './scripted-server.js';

const task = (id: string, subject: string) =>
  '<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Task>' +
  `<t:ItemId Id="${escapeXml(id)}" ChangeKey="CK-${escapeXml(id)}"/><t:ItemClass>IPM.Task</t:ItemClass><t:Subject>${subject}</t:Subject>` +
  '</t:Task></m:Items></m:GetItemResponseMessage>';

/** GetItem written by hand (src/exchange/ews/items.ts), against a real HTTP server that answers as told. */
describe('getItems', async () => {
  let answer = '';
  const server = await scriptedServer(() => ({
    body: soapAnswer(`<m:GetItemResponse><m:ResponseMessages>${answer}</m:ResponseMessages></m:GetItemResponse>`),
  }));
  const transport = testTransport();
  const target = aliceTarget(server.base);
  const signal = () => new AbortController().signal;

  it('asks for items and occurrences in one request, ids escaped, and gives each its item in order', async () => {
    answer = task('A&1', 'First') + task('B', 'Second');
    const results = await getItems(
      transport,
      target,
      [{ id: 'A&1"' }, { masterId: 'M<1>', index: 3 }],
      'text',
      signal(),
    );
    const request = at(parseXml(server.received.at(-1)?.body ?? ''), 'Envelope', 'Body', 'GetItem');
    expect(attr(at(request, 'ItemIds', 'ItemId'), 'Id')).toBe('A&1"');
    const occurrence = at(request, 'ItemIds', 'OccurrenceItemId');
    expect([attr(occurrence, 'RecurringMasterId'), attr(occurrence, 'InstanceIndex')]).toEqual(['M<1>', '3']);
    expect(textOf(request, 'ItemShape', 'BodyType')).toBe('Text');
    expect(results).toEqual([
      {
        item: {
          id: 'A&1',
          changeKey: 'CK-A&1',
          itemClass: 'IPM.Task',
          properties: expect.objectContaining({ subject: 'First' }),
        },
      },
      {
        item: {
          id: 'B',
          changeKey: 'CK-B',
          itemClass: 'IPM.Task',
          properties: expect.objectContaining({ subject: 'Second' }),
        },
      },
    ]);
  });

  it('gives a fault in place of an item Exchange refused, and one for an answer that holds no item', async () => {
    answer =
      '<m:GetItemResponseMessage ResponseClass="Error"><m:MessageText>The specified object was not found in the store.' +
      '</m:MessageText><m:ResponseCode>ErrorItemNotFound</m:ResponseCode></m:GetItemResponseMessage>' +
      '<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items/>' +
      `</m:GetItemResponseMessage>${task('C', 'Third')}`;
    const results = await getItems(transport, target, [{ id: 'gone' }, { id: 'empty' }, { id: 'C' }], 'html', signal());
    expect(results.map((result) => ('fault' in result ? result.fault : result.item.id))).toEqual([
      { responseCode: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' },
      { responseCode: 'ErrorItemNotFound', message: 'GetItem returned no item.' },
      'C',
    ]);
  });

  it('sends nothing for no ids', async () => {
    const before = server.received.length;
    expect(await getItems(transport, target, [], 'html', signal())).toEqual([]);
    expect(server.received.length).toBe(before);
  });

  it('reads every property, the body in the type asked for, Reply-To and the connector’s stamp', () => {
    const shape = parseXml(`<r xmlns:m="m" xmlns:t="t">${itemShape('html')}</r>`);
    expect(textOf(shape, 'r', 'ItemShape', 'BaseShape')).toBe('AllProperties');
    expect(textOf(shape, 'r', 'ItemShape', 'BodyType')).toBe('HTML');
    const uris = all(at(shape, 'r', 'ItemShape', 'AdditionalProperties'), 'FieldURI').map((f) => attr(f, 'FieldURI'));
    expect(uris).toEqual(['item:Body', 'message:ReplyTo']);
    expect(itemShape('html')).toContain(appItemIdFieldUri);
  });
});
