import { existsSync } from 'node:fs';

/**
 * exh's package folder (the one with its package.json), found upwards from this module, so that the sources (src/)
 * and the build (dist/src/) read the files that ship beside the code — package.json, the dashboard in src/dashboard/ —
 * from the same place, and the build needs no copy of them.
 */
export const packageRoot: URL = findPackageRoot(new URL('.', import.meta.url));

function findPackageRoot(folder: URL): URL {
  for (let current = folder; ; ) {
    if (existsSync(new URL('package.json', current))) return current;
    const parent = new URL('..', current);
    if (parent.href === current.href) throw new Error(`exh: no package.json in ${folder.pathname} or above it`);
    current = parent;
  }
}
