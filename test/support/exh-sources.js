// `exh` from the TypeScript sources in the working tree, through tsx: what the tests that spawn `exh` run, so that
// they test the code as it is, never a build in dist/ that may be older (bin/exh.js runs dist/; test/bin/ checks it).
import { register } from 'tsx/esm/api';

register();
await import('../../src/cli.ts');
