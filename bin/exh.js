#!/usr/bin/env node
// The service runs its TypeScript sources through tsx (a dependency), so there is no build step to forget and the
// code that runs is the code in the repository.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
