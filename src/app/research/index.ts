/** The public entry of src/app/research: parameter studies, walk-forward, Monte Carlo (ARCHITECTURE.md). */
export * from './objective.js';
export * from './optimize.js';
export * from './pool.js';
export * from './space.js';
export * from './trial.js';
export * from './research-html.js';
export * from './robustness.js';
export * from './montecarlo.js';
export * from './walk-forward.js';
