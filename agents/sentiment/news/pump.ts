import type { AgentApi } from '../../../src/core/index.js';
import type { NewsSource } from './source.js';

/** Item ids the pump remembers, to publish each item of a polled feed once. */
const REMEMBERED = 10_000;

/**
 * Publishes every item of every source as a `news.item` root (event time: the item's publication
 * time; envelope id derived from the item id, so the same item published again after a restart
 * has the same id). Files are read once; feeds are read every `pollMs` until the agent stops,
 * and an item already published is not published again. A failed read is logged and retried at
 * the next poll; it never stops the agent.
 */
export async function pumpNews(api: AgentApi, sources: readonly NewsSource[]): Promise<void> {
  const seen = new Set<string>();
  const remember = (id: string) => {
    seen.add(id);
    if (seen.size > REMEMBERED) seen.delete(seen.values().next().value!);
  };
  await Promise.all(sources.map((source) => pumpOne(api, source, seen, remember)));
}

async function pumpOne(
  api: AgentApi,
  source: NewsSource,
  seen: ReadonlySet<string>,
  remember: (id: string) => void,
): Promise<void> {
  for (;;) {
    if (api.stopping) return;
    try {
      const items = await source.read();
      let published = 0;
      for (const item of items) {
        if (api.stopping) return;
        if (seen.has(item.id)) continue;
        remember(item.id);
        api.clock.observe(item.time);
        api.publishRoot('news.item', item, item.time, item.id);
        published++;
      }
      if (published > 0) api.log.info({ source: source.name, published }, 'news published');
    } catch (err) {
      api.log.warn(
        { err: (err as Error).message, source: source.name },
        'could not read news; trying again at the next poll',
      );
    }
    if (source.pollMs === undefined) return;
    await sleepUnlessStopping(api, source.pollMs);
  }
}

/** Sleeps `ms` in short steps, so a stopping agent is not held up by a long poll interval. */
async function sleepUnlessStopping(api: AgentApi, ms: number): Promise<void> {
  const until = Date.now() + ms; // wall time: polling is about the process, not event time
  while (!api.stopping && Date.now() < until) {
    await new Promise<void>((r) => setTimeout(r, Math.min(200, until - Date.now())));
  }
}
