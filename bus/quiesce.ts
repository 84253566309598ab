import type { Bus } from '../src/core/index.js';

/**
 * Resolves once the bus is quiet: everything published has been delivered and handled, and
 * handling published nothing new. On NATS a flush is a server round trip that returns after
 * every message published before it has come back to this connection's subscribers, so two
 * consecutive flushes with unchanged counters mean nothing is in flight (for agents in this
 * process; multi-process runs add the `agent.control.<name>` sync).
 */
export async function quiesce(bus: Bus, maxRounds = 10_000): Promise<void> {
  let previous = -1;
  for (let round = 0; round < maxRounds; round++) {
    await bus.flush();
    await new Promise<void>((resolve) => setImmediate(resolve));
    const { published, delivered, deadLettered } = bus.stats;
    const signature = published * 3 + delivered * 2 + deadLettered;
    if (signature === previous) return;
    previous = signature;
  }
  throw new Error(`bus did not go quiet after ${maxRounds} rounds`);
}
