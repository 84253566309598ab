#!/usr/bin/env -S node --max-semi-space-size=64 --no-allocation-site-pretenuring
// The `sextant` command. TypeScript sources run through tsx's loader (a runtime dependency), so
// a checkout runs without a build step and is never stale. `npm start`, the benches and the
// Docker image run the bundle from `npm run build` instead (same code, no loader thread).
// --max-semi-space-size: the agents allocate many short-lived objects per message (immutable
// machine contexts); a larger young generation keeps them from being promoted (bench/).
// --no-allocation-site-pretenuring: V8 otherwise learns, from the few objects of a site that are
// alive when a minor GC comes (a step's snapshot, a batch being fed), to allocate that site's
// objects in the old generation, where they die a few microseconds later and wait for a major
// GC; in a replay that made GC cost about a sixth more of the time (bench/replay.bench.ts).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
