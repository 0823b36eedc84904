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

  it('waits at shutdown for the subscriptions being closed, but no longer than it is given', async () => {
    const connections = new Connections();
    expect(await connections.closed(1_000)).toBe(true);
    let finish: () => void = () => {};
    connections.closing(new Promise<void>((resolve) => (finish = resolve)));
    // A failed close counts as closed: nothing is left to wait for.
    connections.closing(Promise.reject(new Error('Graph refused the deletion')));
    expect(await connections.closed(20)).toBe(false);
    const waiting = connections.closed(5_000);
    finish();
    expect(await waiting).toBe(true);
    expect(await connections.closed(1)).toBe(true);
  });
});
