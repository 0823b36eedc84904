import { describe, expect, it } from 'vitest';
import { mailboxMachine } from '../../machines/mailbox.machine.js';
import { type ChartState, type Statechart, statecharts } from '../../src/statecharts/graph.js';
import { toMermaid } from '../../src/statecharts/mermaid.js';

const state = (path: string, extra: Partial<ChartState> = {}): ChartState => ({
  path,
  key: path.slice(path.lastIndexOf('.') + 1),
  type: 'atomic',
  invokes: [],
  transitions: [],
  states: [],
  ...extra,
});

describe('toMermaid', () => {
  it('prints Mermaid with nested states and labelled transitions', () => {
    const [mailbox] = statecharts(mailboxMachine);
    const text = mailbox ? toMermaid(mailbox) : '';
    expect(text.startsWith('stateDiagram-v2\n')).toBe(true);
    expect(text).toContain('[*] --> mailbox_discovering');
    expect(text).toContain('state "connected" as mailbox_connected {');
    expect(text).toContain('mailbox_connected_subscribing --> mailbox_connected_catchingUp: subscription.ready');
    expect(text).toContain('mailbox_connected --> mailbox_disabled: itemType.failed [isPermanentLimit]');
  });

  it('ends final states, keeps labels free of ":" and ";", and notes what Mermaid cannot draw', () => {
    const chart: Statechart = {
      id: 'door',
      description: 'A door',
      children: ['lock', 'hinge'],
      root: state('', {
        key: '(machine)',
        type: 'compound',
        initial: 'open',
        transitions: [{ event: 'door.removed', targets: ['gone'] }],
        states: [
          state('open', { transitions: [{ event: 'after 1:00; or push', targets: ['shut'], guard: 'isFree' }] }),
          state('shut', {
            type: 'compound',
            initial: 'latched',
            states: [state('shut.latched', { transitions: [{ event: 'unlatch', targets: ['open'] }] })],
          }),
          state('gone', { type: 'final' }),
        ],
      }),
    };
    expect(toMermaid(chart).split('\n')).toEqual([
      'stateDiagram-v2',
      '  %% door: A door',
      '  [*] --> door_open',
      '  state "open" as door_open',
      '  state "shut" as door_shut {',
      '    [*] --> door_shut_latched',
      '    state "latched" as door_shut_latched',
      '  }',
      '  state "gone" as door_gone',
      '  door_gone --> [*]',
      '  %% from any state --> gone: door.removed',
      '  door_open --> door_shut: after 1 00  or push [isFree]',
      '  door_shut_latched --> door_open: unlatch',
      '  %% children: lock, hinge',
      '',
    ]);
  });
});
