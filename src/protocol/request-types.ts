/**
 * The request types of the database listener (docs/protocol.md), apart from their schemas (messages.ts), so that
 * `exh send --type` can offer them without loading zod when the command line starts.
 */
export const requestTypes = ['item', 'syncUsers', 'syncItems', 'getAttachment', 'addAttachment', 'ping'] as const;
export type RequestType = (typeof requestTypes)[number];
