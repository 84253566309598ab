import fc from 'fast-check';

/**
 * Property tests draw from one fixed seed, so a run of `npm test` decides the same every time and
 * a red CI run is reproducible. `FC_SEED=<n>` replays another seed; `FC_SEED=random` explores new
 * ones (a failure prints its seed and path; pin it with FC_SEED to reproduce). `FC_RUNS=<n>`
 * sets the run count of properties that do not name their own.
 */
const seed = process.env.FC_SEED ?? '20261207';
fc.configureGlobal({
  ...(seed === 'random' ? {} : { seed: Number(seed) }),
  ...(process.env.FC_RUNS ? { numRuns: Number(process.env.FC_RUNS) } : {}),
});
