/** The public entry of agents/sentiment: what other folders may import from it (ARCHITECTURE.md). */
export * from './agent.js';
export * from './news/news-file.js';
export * from './news/rss-feed.js';
export * from './news/source.js';
export * from './scorer.js';
