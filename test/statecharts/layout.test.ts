import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { type ChartState, type Statechart, statecharts, transitionId } from '../../src/statecharts/graph.js';
import {
  type Box,
  type ChartLayout,
  layoutStatechart,
  type Point,
  type StateLayout,
} from '../../src/statecharts/layout.js';

/** A machine with what exh's own machines do not have (yet): parallel regions, a transition to two targets. */
const playerMachine = setup({ guards: { hasMedia: () => true } }).createMachine({
  id: 'player',
  initial: 'off',
  states: {
    off: { on: { power: 'on' } },
    on: {
      type: 'parallel',
      on: {
        power: 'off',
        reset: { target: 'on', reenter: true },
        'captions.all': { target: ['.captions.shown', '.audio.loud'] },
      },
      states: {
        audio: {
          initial: 'muted',
          states: { muted: { on: { unmute: 'loud' } }, loud: { on: { mute: 'muted', 'volume.up': {} } } },
        },
        video: {
          initial: 'stopped',
          states: {
            stopped: { on: { play: { target: 'playing', guard: 'hasMedia' } } },
            playing: { on: { stop: 'stopped' }, after: { 5000: 'stopped' } },
          },
        },
        captions: {
          initial: 'hidden',
          states: { hidden: { on: { show: 'shown' } }, shown: { on: { hide: 'hidden' } } },
        },
      },
    },
    ejected: { type: 'final' },
  },
});

const charts = [...statecharts(supervisorMachine), ...statecharts(playerMachine)];
const states = (state: ChartState): ChartState[] => [state, ...state.states.flatMap(states)];
const parentOf = (path: string) => (path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '');
const overlap = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (inner: Box, outer: Box) =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  inner.x + inner.width <= outer.x + outer.width &&
  inner.y + inner.height <= outer.y + outer.height;
/** On the box's border, give or take a pixel and a half. */
const onBorder = (point: Point, box: Box) => {
  const near = (a: number, b: number) => Math.abs(a - b) <= 1.5;
  const withinX = point.x >= box.x - 1.5 && point.x <= box.x + box.width + 1.5;
  const withinY = point.y >= box.y - 1.5 && point.y <= box.y + box.height + 1.5;
  return (
    (withinY && (near(point.x, box.x) || near(point.x, box.x + box.width))) ||
    (withinX && (near(point.y, box.y) || near(point.y, box.y + box.height)))
  );
};

async function laidOut(chart: Statechart): Promise<{ layout: ChartLayout; boxOf: (path: string) => StateLayout }> {
  const layout = await layoutStatechart(chart);
  const boxes = new Map(layout.states.map((state) => [state.path, state]));
  return {
    layout,
    boxOf: (path) => {
      const box = boxes.get(path);
      if (!box) throw new Error(`no box for state "${path}" of ${chart.id}`);
      return box;
    },
  };
}

describe('statechart layout (ELK)', () => {
  it.each(charts.map((chart) => [chart.id, chart] as const))(
    '%s: every transition is an arrow from its state to its targets, with its label',
    async (_id, chart) => {
      const { layout, boxOf } = await laidOut(chart);
      const expected = states(chart.root).flatMap((state) =>
        state.transitions.map((transition, index) => ({ state, transition, id: transitionId(state.path, index) })),
      );
      expect(layout.transitions.map((transition) => transition.id)).toEqual(expected.map(({ id }) => id));
      for (const { state, transition, id } of expected) {
        const drawn = layout.transitions.find((candidate) => candidate.id === id);
        const where = `${chart.id} ${id} (${transition.event})`;
        expect(drawn, where).toMatchObject({
          source: state.path,
          targets: transition.targets,
          event: transition.event,
        });
        expect(drawn?.guard, where).toBe(transition.guard);
        // One arrow per target; a transition without a target is a loop on its state.
        const targets = transition.targets.length > 0 ? transition.targets : [state.path];
        expect(drawn?.arrows.length, where).toBe(targets.length);
        for (const [index, arrow] of (drawn?.arrows ?? []).entries()) {
          expect(arrow.length, where).toBeGreaterThanOrEqual(2);
          for (const point of arrow) expect(Number.isFinite(point.x) && Number.isFinite(point.y), where).toBe(true);
          const [first, last] = [arrow[0], arrow.at(-1)];
          expect(first && onBorder(first, boxOf(state.path)), `${where} starts on its state`).toBe(true);
          expect(last && onBorder(last, boxOf(targets[index] ?? '')), `${where} ends on its target`).toBe(true);
        }
        expect(drawn?.kind, where).toBe(
          transition.targets.length === 0 ? 'actions' : transition.targets.includes(state.path) ? 'self' : 'external',
        );
        const label = drawn?.label;
        expect(label?.lines, where).toEqual(
          transition.guard ? [transition.event, `[${transition.guard}]`] : [transition.event],
        );
        expect((label?.width ?? 0) > 0 && (label?.height ?? 0) > 0, where).toBe(true);
        expect(label && inside(label, { x: 0, y: 0, width: layout.width, height: layout.height }), where).toBe(true);
      }
    },
  );

  it.each(charts.map((chart) => [chart.id, chart] as const))(
    '%s: states lie inside their parents, below their names, and apart from their siblings; labels off the states',
    async (_id, chart) => {
      const { layout, boxOf } = await laidOut(chart);
      expect(layout.states.map((state) => state.path)).toEqual(states(chart.root).map((state) => state.path));
      for (const state of layout.states) {
        expect(state.width > 0 && state.height > 0, state.path).toBe(true);
        expect(inside(state, { x: 0, y: 0, width: layout.width, height: layout.height }), state.path).toBe(true);
        if (state.path === '') continue;
        const parent = boxOf(parentOf(state.path));
        expect(inside(state, parent), `${chart.id} ${state.path} inside its parent`).toBe(true);
        expect(state.y, `${chart.id} ${state.path} below its parent's name`).toBeGreaterThanOrEqual(
          parent.y + parent.header,
        );
        for (const sibling of layout.states) {
          if (sibling === state || sibling.path === '' || parentOf(sibling.path) !== parentOf(state.path)) continue;
          expect(overlap(state, sibling), `${chart.id} ${state.path} and ${sibling.path}`).toBe(false);
        }
      }
      // A label covers no state it does not belong inside (its own state holds it only for a loop around a child).
      const atomic = layout.states.filter((state) => state.type !== 'compound' && state.type !== 'parallel');
      for (const transition of layout.transitions) {
        for (const state of atomic) {
          expect(overlap(transition.label, state), `${chart.id} label of ${transition.id} on ${state.path}`).toBe(
            false,
          );
        }
      }
      for (const [index, transition] of layout.transitions.entries()) {
        for (const other of layout.transitions.slice(index + 1)) {
          expect(overlap(transition.label, other.label), `${chart.id} labels ${transition.id}, ${other.id}`).toBe(
            false,
          );
        }
      }
    },
  );

  it.each(charts.map((chart) => [chart.id, chart] as const))(
    '%s: every compound state has an initial dot inside it with an arrow to its initial state',
    async (_id, chart) => {
      const { layout, boxOf } = await laidOut(chart);
      const compound = states(chart.root).filter((state) => state.initial);
      expect(layout.initials.map((initial) => initial.parent)).toEqual(compound.map((state) => state.path));
      for (const initial of layout.initials) {
        expect(inside(initial.dot, boxOf(initial.parent)), initial.parent).toBe(true);
        const last = initial.points.at(-1);
        expect(last && onBorder(last, boxOf(initial.target)), initial.target).toBe(true);
      }
    },
  );

  it('lays the regions of a parallel state side by side, inside it, apart from each other', async () => {
    const [player] = statecharts(playerMachine);
    if (!player) throw new Error('no chart');
    const { layout, boxOf } = await laidOut(player);
    const regions = layout.states.filter((state) => parentOf(state.path) === 'on' && state.path !== '');
    expect(regions.map((region) => region.path)).toEqual(['on.audio', 'on.video', 'on.captions']);
    expect(regions.every((region) => region.region)).toBe(true);
    expect(boxOf('on.audio.muted').region).toBe(false);
    for (const [index, region] of regions.entries()) {
      expect(inside(region, boxOf('on'))).toBe(true);
      const next = regions[index + 1];
      if (!next) continue;
      // Side by side: the next region begins right of this one and they share a band of height.
      expect(next.x).toBeGreaterThanOrEqual(region.x + region.width);
      expect(next.y < region.y + region.height && region.y < next.y + next.height).toBe(true);
    }
    // A transition to two targets: one arrow to each, one label.
    const both = layout.transitions.find((transition) => transition.event === 'captions.all');
    expect(both?.targets).toEqual(['on.captions.shown', 'on.audio.loud']);
    expect(both?.arrows.length).toBe(2);
  });

  it('lays a chart out once and gives the same layout after that', async () => {
    const [chart] = charts;
    if (!chart) throw new Error('no chart');
    const first = layoutStatechart(chart);
    expect(layoutStatechart(chart)).toBe(first);
    expect(await layoutStatechart(chart)).toBe(await first);
  });
});
