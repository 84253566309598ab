import { describe, expect, it } from 'vitest';
import { makeBus, testPrefix } from '../helpers/buses.js';
import { createRegistry } from '../../src/core/domain/messages.js';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { Metrics } from '../../src/infra/observability/metrics.js';

describe('LLM usage metrics', () => {
  it('count tokens and cost by use: the conversational agent and the LLM news scorer apart', async () => {
    const m = new Metrics();
    m.llmUsage(120, 0.002);
    m.llmUsage(30, 0.001, 'chat');
    m.llmUsage(400, 0, 'sentiment');
    const text = await m.registry.metrics();
    expect(text).toContain('sextant_llm_tokens_total{use="chat"} 150');
    expect(text).toContain('sextant_llm_tokens_total{use="sentiment"} 400');
    expect(text).toContain('sextant_llm_cost_usd_total{use="chat"} 0.003');
  });
});

describe('live feed metrics', () => {
  it("the data agent's health becomes per-symbol lag, gaps repaired and duplicates, and the feed's reconnects", async () => {
    const deps = { ids: sequentialIds('m'), clock: new VirtualClock(1_800_000_000_000), source: 'test/1' };
    const bus = await makeBus('memory', { registry: createRegistry(), prefix: testPrefix() });
    const m = new Metrics();
    m.attach(bus);
    const health = {
      agent: 'data',
      instance: 'i1',
      state: 'degraded',
      machineState: 'streaming',
      since: 1_800_000_000_000,
      handled: 0,
      restarts: 0,
      degraded: 'no closed candle: BTCUSDT for 4m 5s (at most 3 x 1m 0s)',
      detail: {
        feed: {
          name: 'ccxt:binance:1m',
          connected: false,
          reconnects: 2,
          errors: 3,
          rateLimited: 1,
          timeframeMs: 60_000,
          symbols: {
            BTCUSDT: {
              lastBarTime: 1,
              lastBarAgeMs: 245_000,
              gapsRepaired: 5,
              duplicates: 1,
              outOfOrder: 0,
              invalid: 0,
            },
          },
        },
      },
    } as const;
    bus.publish(subjects.agentHealth('data'), rootEnvelope(deps, 'agent.health', health, { v: 1 }));
    await bus.flush();
    const text = await m.registry.metrics();
    expect(text).toContain('sextant_feed_symbol{symbol="BTCUSDT",figure="last_bar_age_seconds"} 245');
    expect(text).toContain('sextant_feed_symbol{symbol="BTCUSDT",figure="gaps_repaired"} 5');
    expect(text).toContain('sextant_feed{figure="connected"} 0');
    expect(text).toContain('sextant_feed{figure="reconnects"} 2');
    expect(text).toContain('sextant_agent_state{agent="data",state="degraded"} 1');
    await m.detach();
    await bus.close();
  });
});
