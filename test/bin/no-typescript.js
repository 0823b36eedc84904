// Loaded with `node --import` by test/bin/exh.test.ts: any module that would bring TypeScript in (a .ts file, or tsx
// itself) fails to resolve, so a built `exh` that still compiles at start-up fails loudly instead of being slow.
import { register } from 'node:module';

const hooks = `export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (/\\.[cm]?tsx?$/.test(new URL(resolved.url).pathname) || resolved.url.includes('/node_modules/tsx/')) {
    throw new Error('exh loaded TypeScript: ' + resolved.url);
  }
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
