import type { StateValue } from 'xstate';

/**
 * The active state paths of a snapshot's value, outermost first, in the form the statecharts use (`ChartState.path`):
 * `{ connected: 'live' }` → `['connected', 'connected.live']`. Parallel regions give every active branch.
 */
export function activePaths(value: StateValue, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return child === undefined ? [path] : [path, ...activePaths(child, path)];
  });
}

/** The innermost active state (`live` for `connected.live`): the one word a list or a metric label shows. */
export function leafState(value: StateValue): string {
  const paths = activePaths(value);
  const deepest = paths[paths.length - 1] ?? '';
  return deepest.slice(deepest.lastIndexOf('.') + 1);
}
