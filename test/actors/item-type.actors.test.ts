import { describe, expect, it, vi } from 'vitest';
import { createActor, setup, waitFor } from 'xstate';
import { createItemTypeActors, type ItemTypeDeps } from '../../actors/item-type.actors.js';
import type { SerializedError } from '../../machines/report.js';
import { errors } from '../../src/errors.js';

/** What the service does is tested in test/mailbox/item-type-sync.test.ts; the actor only wires it. */
const service = vi.hoisted(() => ({ syncMailboxItemType: vi.fn() }));
vi.mock('../../src/mailbox/item-type-sync.js', () => service);

/** The item type's sync under a stand-in for the database machine (system id `database`), which records failures. */
function run() {
  const { syncFolders } = createItemTypeActors({} as ItemTypeDeps);
  const told: SerializedError[] = [];
  const database = setup({
    types: { events: {} as { type: 'database.failed'; error: SerializedError } },
  }).createMachine({
    on: { 'database.failed': { actions: ({ event }) => void told.push(event.error) } },
  });
  const parent = setup({ actors: { syncFolders, database } }).createMachine({
    initial: 'syncing',
    invoke: { src: 'database', systemId: 'database' },
    states: {
      syncing: {
        invoke: {
          src: 'syncFolders',
          input: { user: 'alice@contoso.test', itemType: 'calendar', watermark: null },
          onDone: 'done',
          onError: 'failed',
        },
      },
      done: {},
      failed: {},
    },
  });
  return { actor: createActor(parent).start(), told };
}

describe('item-type actors', () => {
  it("runs the mailbox's item-type sync with the actor's signal and resolves with its output", async () => {
    service.syncMailboxItemType.mockResolvedValueOnce({ watermark: '{}', applied: 1, failed: 0 });
    const { actor, told } = run();
    await waitFor(actor, (s) => s.matches('done'));
    expect(service.syncMailboxItemType.mock.calls[0]?.[1]).toMatchObject({
      user: 'alice@contoso.test',
      itemType: 'calendar',
      watermark: null,
      signal: expect.any(AbortSignal),
    });
    expect(told).toEqual([]);
  });

  it('tells the database machine when the database went away under the sync, and fails the sync', async () => {
    service.syncMailboxItemType.mockRejectedValueOnce(errors.databaseConnectionLost('pg://db', new Error('reset')));
    const { actor, told } = run();
    await waitFor(actor, (s) => s.matches('failed'));
    expect(told.map((error) => error.code)).toEqual(['EXH_DB_CONNECTION_LOST']);
  });

  it('leaves every other failure to the item type and its mailbox', async () => {
    service.syncMailboxItemType.mockRejectedValueOnce(errors.exchangeTimeout('https://mail.contoso.test/EWS', 1_000));
    const { actor, told } = run();
    await waitFor(actor, (s) => s.matches('failed'));
    expect(told).toEqual([]);
  });
});
