import type { BodyType, ExchangeItem } from '../../ports/exchange.port.js';
import { type EwsFault, responseMessageFault } from './errors.js';
import { appItemIdFieldUri, toExchangeItem } from './properties.js';
import { type SoapTarget, soapCall } from './soap.js';
import type { EwsTransport } from './transport.js';
import { all, at, entries, escapeXml } from './xml.js';

/**
 * GetItem with every property the item-type definitions read: AllProperties (which in GetItem, unlike FindItem and
 * SyncFolderItems, includes bodies, attendees and recurrence), the body in the wanted type, ReplyTo, and the
 * connector's extended property. One request per batch; each id gets its own answer (an item or a fault).
 */

export type ItemRef = { id: string } | { masterId: string; index: number };

export type ItemResult = { item: ExchangeItem } | { fault: EwsFault };

function refXml(ref: ItemRef): string {
  return 'id' in ref
    ? `<t:ItemId Id="${escapeXml(ref.id)}"/>`
    : `<t:OccurrenceItemId RecurringMasterId="${escapeXml(ref.masterId)}" InstanceIndex="${ref.index}"/>`;
}

export function itemShape(bodyType: BodyType): string {
  return (
    '<m:ItemShape><t:BaseShape>AllProperties</t:BaseShape>' +
    `<t:BodyType>${bodyType === 'text' ? 'Text' : 'HTML'}</t:BodyType>` +
    '<t:AdditionalProperties><t:FieldURI FieldURI="item:Body"/><t:FieldURI FieldURI="message:ReplyTo"/>' +
    `${appItemIdFieldUri}</t:AdditionalProperties></m:ItemShape>`
  );
}

export async function getItems(
  transport: EwsTransport,
  target: SoapTarget,
  refs: ItemRef[],
  bodyType: BodyType,
  signal: AbortSignal,
): Promise<ItemResult[]> {
  if (refs.length === 0) return [];
  const body = `<m:GetItem>${itemShape(bodyType)}<m:ItemIds>${refs.map(refXml).join('')}</m:ItemIds></m:GetItem>`;
  const response = await soapCall(transport, target, 'GetItem', body, signal);
  return all(at(response, 'ResponseMessages'), 'GetItemResponseMessage').map((message): ItemResult => {
    const fault = responseMessageFault(message);
    if (fault) return { fault };
    const [first] = entries(at(message, 'Items'));
    if (!first) return { fault: { responseCode: 'ErrorItemNotFound', message: 'GetItem returned no item.' } };
    return { item: toExchangeItem(first[0], first[1]) };
  });
}
