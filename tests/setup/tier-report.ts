import type { Reporter, TestModule } from 'vitest/node';

/**
 * Says at the end of a run how many tests of each service tier ran, so a log shows that the
 * NATS and MongoDB tiers were exercised (not merely configured), and lists any test that did
 * not run: the suite skips nothing, so a skipped test is a defect to look at.
 *
 * A test belongs to a tier by the `[nats]` / `[mongodb]` tag in its name or its suite's.
 */
export default class TierReport implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const tiers = { nats: { ran: 0, passed: 0 }, mongodb: { ran: 0, passed: 0 } };
    const notRun: string[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'skipped' || state === 'pending') {
          notRun.push(`${m.moduleId.replace(/^.*\/tests\//, 'tests/')} > ${t.fullName}`);
          continue;
        }
        for (const tier of ['nats', 'mongodb'] as const) {
          if (t.fullName.includes(`[${tier}]`)) {
            tiers[tier].ran++;
            if (state === 'passed') tiers[tier].passed++;
          }
        }
      }
    }
    const line = (name: string, t: { ran: number; passed: number }) => `${name} ${t.ran} ran (${t.passed} passed)`;
    console.log(
      `\n[tiers] ${line('NATS', tiers.nats)}; ${line('MongoDB wire', tiers.mongodb)}; not run: ${notRun.length}`,
    );
    for (const n of notRun) console.log(`[tiers] NOT RUN: ${n}`);
  }
}
