import { describe, expect, it } from 'vitest';
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
