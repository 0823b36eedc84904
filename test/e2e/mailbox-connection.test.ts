import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendRequest } from '../../src/protocol/client.js';
import { alice, bob, carol, connectorWorld } from '../support/connector.js';

const pgUrl = process.env.PG_URL;

/**
 * The connection registry through every real part (PostgreSQL, runtime, EWS adapter, emulator, database listener):
 * a mailbox that is no longer connected is no longer written to, and a request for a user nobody registered is an
 * error rather than "try again later".
 */
describe.skipIf(!pgUrl)('mailbox connections, end to end (PostgreSQL, emulator)', () => {
  let world: Awaited<ReturnType<typeof connectorWorld>>;

  beforeAll(async () => {
    world = await connectorWorld(pgUrl as string, 'connection');
  });
  afterEach(() => world.stopConnector());
  afterAll(() => world?.close());

  const change = (user: string) =>
    world.setUp().then(({ target, token }) =>
      sendRequest(
        target,
        {
          token,
          type: 'item',
          action: 'chg',
          itemType: 'task',
          user,
          fields: { item_id: 'AAMkNotThere', subject: 'Never sent' },
        },
        { timeoutMs: 10_000 },
      ),
    );

  it('answers 522 for a mailbox that lost Exchange and was disabled, exit 1 for an unregistered user', async () => {
    await world.startConnector();
    await world.live([alice, bob, carol]);

    // Exchange loses carol's mailbox: the subscription ends, connecting again finds no mailbox, and with
    // retry.permanentFailures 1 the mailbox is disabled. Its old connection must not be used any more.
    world.emulator.admin.removeMailbox(carol);
    await world.eventually(async () => {
      expect(world.records.some((r) => r.event === 'mailbox.disabled' && r.user === carol)).toBe(true);
    });
    const disabled = await change(carol);
    expect(disabled.exitCode).toBe(522);
    expect(disabled.errorMessage).toContain(`The mailbox of ${carol} is not connected`);
    // Registered users are found whatever the case of the address.
    expect((await change(carol.toUpperCase())).exitCode).toBe(522);

    const unknown = await change('mallory@contoso.test');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.errorMessage).toContain('mallory@contoso.test is not a registered user');
  });
});
