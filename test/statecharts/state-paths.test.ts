import { describe, expect, it } from 'vitest';
import { activePaths, leafState } from '../../src/statecharts/state-paths.js';

describe('activePaths', () => {
  it('lists the active states outermost first, and the innermost as the state', () => {
    expect(activePaths('discovering')).toEqual(['discovering']);
    expect(activePaths({ connected: 'live' })).toEqual(['connected', 'connected.live']);
    expect(activePaths({ running: { a: 'x', b: 'y' } })).toEqual([
      'running',
      'running.a',
      'running.a.x',
      'running.b',
      'running.b.y',
    ]);
    expect(leafState({ connected: 'catchingUp' })).toBe('catchingUp');
  });

  it('gives a plain state as its own leaf, and of parallel regions the innermost state of the last', () => {
    expect(leafState('idle')).toBe('idle');
    expect(leafState({ running: { a: 'x', b: { inner: 'y' } } })).toBe('y');
  });
});
