import { describe, expect, it } from 'vitest';
import { Connections } from '../../src/mailbox/connections.js';
import type { MailboxConnection } from '../../src/ports/exchange.port.js';

/** Only identity matters to the registry; a writer is a connection whose backend writes. */
const connection = (endpoint: string) =>
  ({ endpoint, capabilities: { writes: true }, createItem: async () => ({}) }) as unknown as MailboxConnection;

describe('Connections', () => {
  it('finds a mailbox whatever the case of the address, as exh_get_users de-duplicates users', () => {
    const connections = new Connections();
    const alice = connection('https://mail.contoso.test/EWS/Exchange.asmx');
    connections.set('alice@contoso.test', alice);
    expect(connections.find('Alice@Contoso.test')).toBe(alice);
    expect(connections.get('ALICE@CONTOSO.TEST')).toBe(alice);
    expect(connections.writer('Alice@contoso.test')).toBe(alice);
    connections.delete('ALICE@contoso.test');
    expect(connections.find('alice@contoso.test')).toBeUndefined();
  });
});
