import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { itemTypeMachine } from '../../machines/item-type.machine.js';
import { mailboxMachine } from '../../machines/mailbox.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { type ChartState, statecharts } from '../../src/statecharts/graph.js';

const paths = (state: ChartState): string[] => [state.path, ...state.states.flatMap(paths)];

describe('statecharts read from the machine definitions', () => {
  it('walks from the supervisor down to the item types, each machine once', () => {
    const charts = statecharts(supervisorMachine);
    expect(charts.map((chart) => chart.id)).toEqual([
      'supervisor',
      'database',
      'mailboxes',
      'mailbox',
      'itemType',
      'membership',
    ]);
    // The membership (several instances, docs/scale-out.md) runs only in the supervisor's cluster region.
    expect(charts.find((chart) => chart.id === 'supervisor')?.children).toContain('membership');
    expect(charts.find((chart) => chart.id === 'mailbox')?.children).toEqual(['itemType']);
  });

  it("gives the mailbox machine's states, initial states, invokes and transitions as they are defined", () => {
    const [mailbox] = statecharts(mailboxMachine);
    expect(mailbox && paths(mailbox.root)).toEqual([
      '',
      'discovering',
      'connected',
      'connected.subscribing',
      'connected.catchingUp',
      'connected.live',
      'backingOff',
      'disabled',
    ]);
    expect(mailbox?.root.initial).toBe('discovering');
    const connected = mailbox?.root.states.find((state) => state.key === 'connected');
    expect(connected?.initial).toBe('subscribing');
    expect(connected?.invokes).toEqual([
      { id: 'connection', src: 'holdConnection' },
      { id: 'subscription', src: 'subscription' },
    ]);
    expect(connected?.transitions).toContainEqual({
      event: 'itemType.failed',
      targets: ['disabled'],
      guard: 'isPermanentLimit',
    });
    const discovering = mailbox?.root.states.find((state) => state.key === 'discovering');
    expect(discovering?.transitions).toContainEqual({ event: 'done connect', targets: ['connected'] });
    const backingOff = mailbox?.root.states.find((state) => state.key === 'backingOff');
    expect(backingOff?.transitions).toEqual([{ event: 'after backoff', targets: ['discovering'] }]);
    const catchingUp = connected?.states.find((state) => state.key === 'catchingUp');
    expect(catchingUp?.transitions).toContainEqual({
      event: 'always',
      targets: ['connected.live'],
      guard: 'allCaughtUp',
    });
  });

  it('shows a state added to a machine, and a new child machine, without anything else changing', () => {
    const withPaused = itemTypeMachine.root.machine.config;
    const extended = setup({}).createMachine({
      ...withPaused,
      id: 'itemType',
      states: { ...withPaused.states, paused: { on: { 'sync.requested': 'syncing' } } },
    } as never);
    const noteMachine = setup({}).createMachine({ id: 'note', initial: 'syncing', states: { syncing: {} } });
    const parent = setup({ actors: { itemType: extended, note: noteMachine } }).createMachine({
      id: 'mailbox',
      initial: 'live',
      states: { live: {} },
    });
    const charts = statecharts(parent);
    expect(charts.map((chart) => chart.id)).toEqual(['mailbox', 'itemType', 'note']);
    const itemType = charts.find((chart) => chart.id === 'itemType');
    expect(itemType && paths(itemType.root)).toContain('paused');
    expect(itemType?.root.states.find((state) => state.key === 'paused')?.transitions).toEqual([
      { event: 'sync.requested', targets: ['syncing'] },
    ]);
  });
});
