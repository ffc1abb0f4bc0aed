#!/usr/bin/env node
// The `metaraft` command. metaraft ships its TypeScript sources; tsx runs them on Node 20.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
