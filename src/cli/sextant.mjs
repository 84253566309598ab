#!/usr/bin/env node
// The `sextant` command. TypeScript sources run through tsx's loader (a runtime dependency), so
// there is no build step between a checkout and a running system.
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

// The agents allocate many short-lived objects per message (immutable machine contexts); a
// larger young generation keeps them out of the old generation. Measured in bench/.
setFlagsFromString('--max-semi-space-size=32');
register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
