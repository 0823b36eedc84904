import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, setup, waitFor } from 'xstate';
import { itemTypeMachine } from '../../machines/item-type.machine.js';
import { type ChartState, statecharts, transitionId } from '../../src/statecharts/graph.js';
import {
  InspectionHub,
  recentPerUserLimit,
  type StatelyInspectionEvent,
  type Transition,
} from '../../src/statecharts/inspection.js';

const alice = 'alice@contoso.test';

/** A parent like the mailbox: it runs the real item-type machine, whose sync resolves at once. */
function system(hub: InspectionHub) {
  const itemType = itemTypeMachine.provide({
    actors: { syncFolders: fromPromise(async () => ({ watermark: 'w1', applied: 2, failed: 0 })) },
  });
  const parent = setup({ actors: { itemType } }).createMachine({
    id: 'mailbox',
    context: { user: alice },
    invoke: { id: 'itemType:calendar', src: 'itemType', input: { user: alice, itemType: 'calendar', watermark: null } },
    on: { 'itemType.*': {} },
  });
  return createActor(parent, { inspect: hub.inspect });
}

describe('InspectionHub', () => {
  it('records the state changes of machine actors with their mailbox and item type, and tells listeners', async () => {
    const hub = new InspectionHub();
    const heard: Transition[] = [];
    hub.onTransition((transition) => heard.push(transition));
    const actor = system(hub).start();
    const child = actor.getSnapshot().children['itemType:calendar'];
    await waitFor(child as never, (snapshot: { value: unknown }) => snapshot.value === 'idle');
    const itemType = hub.recent({ user: alice }).filter((t) => t.actor === 'itemType:calendar');
    expect(itemType.map((t) => [t.from.at(-1) ?? null, t.to.at(-1)])).toEqual([
      [null, 'syncing'],
      ['syncing', 'idle'],
    ]);
    expect(itemType[1]).toMatchObject({ machine: 'itemType', user: alice, itemType: 'calendar' });
    expect(itemType[1]?.event).toMatch(/^xstate\.done\.actor\./);
    expect(heard).toEqual(hub.recent());
    expect(hub.recent({ user: 'bob@contoso.test' })).toEqual([]);
    actor.stop();
  });

  it("keeps a mailbox's latest transitions in a small ring, each read as a copy", async () => {
    const hub = new InspectionHub();
    const actor = system(hub).start();
    const child = actor.getSnapshot().children['itemType:calendar'];
    await waitFor(child as never, (snapshot: { value: unknown }) => snapshot.value === 'idle');
    // Every mailbox keeps its ring (docs/operations.md, "Memory"): twenty syncs are forty transitions.
    for (let sync = 0; sync < 20; sync++) {
      child?.send({ type: 'sync.requested' });
      await waitFor(child as never, (snapshot: { value: unknown }) => snapshot.value === 'idle');
    }
    const kept = hub.recent({ user: alice });
    expect(recentPerUserLimit).toBeLessThan(40);
    expect(kept).toHaveLength(recentPerUserLimit);
    expect(kept.at(-1)).toMatchObject({ actor: 'itemType:calendar', from: ['syncing'], to: ['idle'] });
    expect(hub.recent().slice(-recentPerUserLimit)).toEqual(kept);
    // What a reader does with what it got leaves the hub's record as it was.
    kept.at(-1)?.to.push('changed');
    expect(hub.recent({ user: alice }).at(-1)?.to).toEqual(['idle']);
    actor.stop();
  });

  it('records an actor that stops as stopped in the state it was in, not as a move from nowhere', async () => {
    const hub = new InspectionHub();
    const actor = system(hub).start();
    const child = actor.getSnapshot().children['itemType:calendar'];
    await waitFor(child as never, (snapshot: { value: unknown }) => snapshot.value === 'idle');
    actor.stop();
    const last = hub
      .recent({ user: alice })
      .filter((t) => t.actor === 'itemType:calendar')
      .at(-1);
    expect(last).toMatchObject({ from: ['idle'], to: [], stopped: true });
  });

  it("names the transitions taken by their ids in the machine's statechart, eventless ones included", async () => {
    const hub = new InspectionHub();
    const actor = system(hub).start();
    const child = actor.getSnapshot().children['itemType:calendar'];
    await waitFor(child as never, (snapshot: { value: unknown }) => snapshot.value === 'idle');
    child?.send({ type: 'sync.requested' });
    await waitFor(child as never, (snapshot: { value: unknown }) => snapshot.value === 'idle');
    const itemType = hub.recent({ user: alice }).filter((t) => t.actor === 'itemType:calendar');
    // The chart's transitions by id: what the dashboard draws an arrow for.
    const [chart] = statecharts(itemTypeMachine);
    const byId = new Map<string, { source: string; event: string; targets: string[]; guard?: string }>();
    const collect = (state: ChartState) => {
      for (const [index, transition] of state.transitions.entries()) {
        byId.set(transitionId(state.path, index), { source: state.path, ...transition });
      }
      for (const child of state.states) collect(child);
    };
    if (chart) collect(chart.root);
    const taken = itemType.map((t) => (t.transitions ?? []).map((id) => byId.get(id)));
    expect(taken).toEqual([
      // Started in syncing: no transition taken.
      [],
      // The first sync's end, then on through synced by the eventless transition of a first sync.
      [
        { source: 'syncing', event: 'done syncFolders', targets: ['synced'] },
        { source: 'synced', event: 'always', targets: ['idle'], guard: 'isFirstSync' },
      ],
      [{ source: 'idle', event: 'sync.requested', targets: ['syncing'] }],
      [
        { source: 'syncing', event: 'done syncFolders', targets: ['synced'] },
        { source: 'synced', event: 'always', targets: ['idle'] },
      ],
    ]);
    actor.stop();
  });

  it('describes every running actor to a Stately-format listener, then streams events and snapshots', async () => {
    const hub = new InspectionHub();
    const actor = system(hub).start();
    await waitFor(
      actor.getSnapshot().children['itemType:calendar'] as never,
      (s: { value: unknown }) => s.value === 'idle',
    );
    const events: StatelyInspectionEvent[] = [];
    hub.onStately((event) => events.push(event));
    const described = events.filter((event) => event.type === '@xstate.actor').map((event) => event.name);
    expect(described).toEqual(expect.arrayContaining(['itemType:calendar']));
    const child = events.find((event) => event.name === 'itemType:calendar');
    expect(child).toMatchObject({ _version: '1.0.0', snapshot: { status: 'active', value: 'idle' } });
    expect(JSON.parse(String(child?.definition))).toMatchObject({ id: 'itemType' });
    actor.getSnapshot().children['itemType:calendar']?.send({ type: 'sync.requested' });
    await waitFor(
      actor.getSnapshot().children['itemType:calendar'] as never,
      (s: { value: unknown }) => s.value === 'idle',
    );
    expect(
      events.some(
        (event) => event.type === '@xstate.event' && (event.event as { type: string }).type === 'sync.requested',
      ),
    ).toBe(true);
    expect(events.filter((event) => event.type === '@xstate.snapshot').length).toBeGreaterThan(0);
    actor.stop();
  });
});
