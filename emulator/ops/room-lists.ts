import type { OperationContext } from '../context.js';
import { errorMessage, ns, successMessage } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import type { XmlNode } from '../xml/node.js';

/**
 * GetRoomLists and GetRooms. The emulator's organization has no room lists (distribution groups marked as room
 * lists), so GetRoomLists answers an empty RoomLists, as Exchange does for an organization without any, and GetRooms
 * answers ErrorNameResolutionNoResults for whatever list it is asked about. Both answers are themselves the response
 * message (messages.xsd: GetRoomListsResponse is a GetRoomListsResponseMessageType), not a ResponseMessages list.
 */

/** A response message that is the operation's root element: the namespaces go on it. */
function rootMessage(message: string, name: string): string {
  return message.replace(`<m:${name} `, `<m:${name} xmlns:m="${ns.m}" xmlns:t="${ns.t}" `);
}

export function getRoomLists(_request: XmlNode, _ctx: OperationContext): string {
  return rootMessage(successMessage('GetRoomListsResponse', '<m:RoomLists/>'), 'GetRoomListsResponse');
}

export function getRooms(_request: XmlNode, _ctx: OperationContext): string {
  const error = new EwsError('ErrorNameResolutionNoResults');
  return rootMessage(errorMessage('GetRoomsResponse', error), 'GetRoomsResponse');
}
