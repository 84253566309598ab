import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../config/load.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { AGENT_NAMES } from '../../src/core/messaging/subjects.js';
import { Metrics } from '../../src/infra/observability/metrics.js';
import { dashboardExprs } from '../../scripts/check-deploy.js';
import { tools } from '../../scripts/services/tools.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/free-port.js';

/**
 * The Grafana dashboard and the Prometheus alert rules under deploy/ name only metrics and labels
 * Sextant really exports: checked against a running process's own /metrics (METRICS_PORT), and
 * against the registry's label names. promtool and kubeconform check the files' syntax and
 * schemas (scripts/check-deploy.ts, `npm run check:deploy`); this checks what they cannot.
 */

const alerts = parse(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as {
  groups: { name: string; rules: { alert?: string; expr: string; labels?: Record<string, string> }[] }[];
};
const dashboard = JSON.parse(readFileSync('deploy/grafana/dashboards/sextant.json', 'utf8')) as Dashboard;
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string>; volumes?: string[]; profiles?: string[] }>;
};

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
/** Labels Prometheus adds to every series (target labels, the compose relabelling). */
const TARGET_LABELS = new Set(['job', 'instance', 'service']);

/** The metrics a PromQL expression selects, with the labels it matches or groups them by. */
function promqlRefs(expr: string): { metrics: Map<string, Set<string>>; grouping: Set<string> } {
  const metrics = new Map<string, Set<string>>();
  const grouping = new Set<string>();
  let rest = expr;
  // name{matchers}: the labels matched
  rest = rest.replace(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g, (_, name: string, matchers: string) => {
    const labels = metrics.get(name) ?? new Set<string>();
    for (const m of matchers.matchAll(/(\w+)\s*(=~|!~|!=|=)/g)) labels.add(m[1]!);
    metrics.set(name, labels);
    return ' ';
  });
  // by (...), without (...), on (...), ignoring (...), group_left (...)
  rest = rest.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, _kw, list: string) => {
    for (const l of list.split(',').map((s) => s.trim())) if (l) grouping.add(l);
    return ' ';
  });
  rest = rest.replace(/"[^"]*"|\[[^\]]*\]/g, ' ');
  for (const m of rest.matchAll(/(?<![\w.$])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (m[2] || PROMQL_WORDS.has(m[1]!.toLowerCase())) continue; // a function, or an operator word
    if (!metrics.has(m[1]!)) metrics.set(m[1]!, new Set());
  }
  return { metrics, grouping };
}

/** Every query the deploy/ files hold: alert rules and dashboard panels. */
const queries = [
  ...alerts.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
  ...dashboardExprs(dashboard).map((q) => ({ where: `dashboard ${q.where}`, expr: q.expr })),
];

/** Problems of one query against the families a process exports (`# TYPE` lines) and their label names. */
function problemsOf(
  expr: string,
  families: ReadonlyMap<string, string>,
  labelNames: (family: string) => readonly string[],
): string[] {
  const problems: string[] = [];
  const { metrics, grouping } = promqlRefs(expr);
  const known = new Set<string>(TARGET_LABELS);
  for (const [name, labels] of metrics) {
    if (name === 'up') continue; // Prometheus' own, one per scrape target
    const family = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    const type = families.get(family);
    if (!type || (family !== name && type !== 'histogram')) {
      problems.push(`${name} is not exported`);
      continue;
    }
    const own = new Set([...labelNames(family), ...(name.endsWith('_bucket') ? ['le'] : [])]);
    for (const l of own) known.add(l);
    for (const l of labels) if (!own.has(l) && !TARGET_LABELS.has(l)) problems.push(`${name} has no label ${l}`);
  }
  for (const l of grouping) if (!known.has(l)) problems.push(`no metric of the query has the label ${l}`);
  return problems;
}

describe('the metrics deploy/ names are the ones Sextant exports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-deploy-metrics-'));
  let system: RunningSystem;
  let port: number;
  let scraped = '';
  const families = new Map<string, string>();
  const registry = new Metrics().registry;
  const labelNames = (family: string) =>
    (registry.getSingleMetric(family) as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? [];

  beforeAll(async () => {
    port = await freePort();
    // a process without the API, as `sextant agent <name>` runs: its registry on METRICS_PORT
    const config = loadConfig({
      env: {
        PORT: '0',
        METRICS_PORT: String(port),
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(120, 7),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '0',
        STRATEGY_FAST: '3',
        STRATEGY_SLOW: '8',
        SEXTANT_DATA_DIR: join(dir, 'data'),
        HEARTBEAT_INTERVAL_MS: '60000',
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents);
    await system.feedDone();
    await eventually(async () => {
      scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      // the trading figures have come in: the portfolio, the agents' heartbeats, the risk agent's handling
      expect(scraped).toMatch(/^sextant_drawdown \d/m);
      expect(scraped).toMatch(/^sextant_agent_last_heartbeat_seconds\{agent="risk"\}/m);
      expect(scraped).toMatch(/^sextant_handler_seconds_bucket\{le="[^"]+",handler="execution"\}/m);
      expect(scraped).toMatch(/^sextant_orders_total\{outcome="filled"\} [1-9]/m);
    }, 10_000);
    for (const m of scraped.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1]!, m[2]!);
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a process without the API serves its registry and /health on METRICS_PORT, and nothing of the API', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/api/v1/portfolio`)).status).toBe(404);
    expect(families.get('sextant_handler_seconds')).toBe('histogram');
  });

  it('every metric and label the alert rules and the dashboard query is exported', () => {
    expect(queries.length).toBeGreaterThan(30);
    const problems = queries.flatMap((q) => problemsOf(q.expr, families, labelNames).map((p) => `${q.where}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('reads the metrics, matchers and groupings of a query, not its functions, strings or ranges', () => {
    const q = promqlRefs(
      'histogram_quantile(0.99, sum by (handler, le) (rate(sextant_handler_seconds_bucket{handler=~"risk|execution"}[5m]))) > 0.5',
    );
    expect([...q.metrics.entries()].map(([m, l]) => [m, [...l]])).toEqual([
      ['sextant_handler_seconds_bucket', ['handler']],
    ]);
    expect([...q.grouping]).toEqual(['handler', 'le']);
    const r = promqlRefs('(sum(max by (outcome) (increase(x_total{outcome="a"}[5m]))) > 0) unless time() - up > 3');
    expect([...r.metrics.keys()]).toEqual(['x_total', 'up']);
    expect([...r.grouping]).toEqual(['outcome']);
  });

  it('the check finds a misspelt metric, a label the metric lacks and a grouping by a label no metric has', () => {
    expect(problemsOf('max(sextant_equty)', families, labelNames)).toEqual(['sextant_equty is not exported']);
    expect(problemsOf('sextant_risk_rejections_total{reason="x"}', families, labelNames)).toEqual([
      'sextant_risk_rejections_total has no label reason',
    ]);
    expect(problemsOf('sum by (reason) (rate(sextant_risk_rejections_total[5m]))', families, labelNames)).toEqual([
      'no metric of the query has the label reason',
    ]);
    expect(problemsOf('sextant_equity_bucket', families, labelNames)).toEqual([
      'sextant_equity_bucket is not exported',
    ]);
  });

  it('the handlers the order-path alert names are the agents that handle orders', () => {
    const rule = alerts.groups.flatMap((g) => g.rules).find((r) => r.alert === 'SextantOrderPathSlow')!;
    for (const handler of /handler=~"([^"]+)"/.exec(rule.expr)![1]!.split('|'))
      expect(scraped).toContain(`sextant_handler_seconds_count{handler="${handler}"}`);
  });
});

describe('the Grafana dashboard', () => {
  const all = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...all(p.panels ?? [])]);
  const panels = all(dashboard.panels);
  const variables = new Set(dashboard.templating.list.map((v) => v.name));

  it('is a dashboard Grafana provisions: a uid, a title, a schema version, unique panel ids', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.title).toBe('Sextant');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
  });

  it('lays its panels on the 24-column grid without overlaps', () => {
    const cells = new Map<string, string>();
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x >= 0 && w > 0 && x + w <= 24 && h > 0, p.title).toBe(true);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.get(`${i},${j}`), `${p.title} overlaps`).toBeUndefined();
          cells.set(`${i},${j}`, p.title);
        }
    }
  });

  it('queries the chosen Prometheus in every panel, with unique refIds and only variables it defines', () => {
    const builtins = new Set(['__rate_interval', '__interval', '__range']);
    const shown = panels.filter((p) => p.type !== 'row');
    expect(new Set(shown.map((p) => p.type))).toEqual(new Set(['timeseries', 'stat', 'bargauge', 'heatmap']));
    for (const p of shown) {
      expect(p.title, `panel ${p.id}`).toBeTruthy();
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(new Set(p.targets!.map((t) => t.refId)).size, p.title).toBe(p.targets!.length);
      for (const t of p.targets!) {
        expect(t.datasource?.uid, p.title).toBe('${datasource}');
        for (const v of t.expr.matchAll(/\$\{?(\w+)\}?/g))
          expect(builtins.has(v[1]!) || variables.has(v[1]!), `${p.title}: $${v[1]}`).toBe(true);
      }
    }
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
  });

  it('shows what the issue asks: equity, PnL, orders, refusals, agents, bus, handler latency, LLM spend', () => {
    const text = panels.map((p) => `${p.title} ${(p.targets ?? []).map((t) => t.expr).join(' ')}`).join('\n');
    for (const metric of [
      'sextant_equity',
      'sextant_pnl',
      'sextant_orders_total',
      'sextant_risk_rejections_total',
      'sextant_agent_state',
      'sextant_agent_last_heartbeat_seconds',
      'sextant_messages_published_total',
      'sextant_handler_seconds_bucket',
      'sextant_dead_letters_total',
      'sextant_llm_cost_usd_total',
    ])
      expect(text).toContain(metric);
    expect(panels.some((p) => p.type === 'heatmap' && p.targets?.[0]?.expr.includes('sextant_handler_seconds'))).toBe(
      true,
    );
  });
});

describe('the alert rules', () => {
  it('cover agent down, feed stale, HALTED, drawdown, dead letters and the order path, each with a severity', () => {
    const rules = alerts.groups.flatMap((g) => g.rules);
    for (const name of [
      'SextantAgentDown',
      'SextantFeedStale',
      'SextantTradingHalted',
      'SextantDrawdownHigh',
      'SextantDeadLetters',
      'SextantOrderPathStalled',
    ])
      expect(rules.map((r) => r.alert)).toContain(name);
    for (const r of rules) expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
  });
});

describe('the monitoring profile of docker-compose.yml', () => {
  const prometheus = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as {
    rule_files: string[];
    scrape_configs: {
      job_name: string;
      static_configs?: { targets: string[] }[];
      dns_sd_configs?: { names: string[]; port: number }[];
    }[];
  };

  it('runs Prometheus and Grafana only with --profile monitoring, each given its files from deploy/', () => {
    const { prometheus: prom, grafana } = compose.services;
    expect(prom?.profiles).toEqual(['monitoring']);
    expect(grafana?.profiles).toEqual(['monitoring']);
    expect(prom?.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
    expect(prometheus.rule_files).toEqual(['alerts.yml']);
    const dashboards = grafana?.volumes?.find((v) => v.startsWith('./deploy/grafana/dashboards:'))?.split(':')[1];
    const provider = parse(readFileSync('deploy/grafana/provisioning/dashboards/sextant.yml', 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    expect(provider.providers[0]?.options.path).toBe(dashboards);
    expect(grafana?.volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
  });

  it('scrapes the API on PORT and every other Sextant service on its METRICS_PORT', () => {
    const api = prometheus.scrape_configs.find((s) => s.job_name === 'sextant-api');
    expect(api?.static_configs?.[0]?.targets).toEqual([`api:${compose.services.api?.environment?.PORT}`]);
    const agents = prometheus.scrape_configs.find((s) => s.job_name === 'sextant-agents')!.dns_sd_configs![0]!;
    const withMetrics = Object.entries(compose.services)
      .filter(([, s]) => s.environment?.METRICS_PORT)
      .map(([name, s]) => {
        expect(Number(s.environment!.METRICS_PORT), name).toBe(agents.port);
        return name;
      });
    expect([...agents.names].sort()).toEqual(withMetrics.sort());
    for (const agent of AGENT_NAMES) expect(agents.names).toContain(agent);
    expect(agents.names).toContain('recorder');
  });
});

describe('the Helm chart', () => {
  const values = parse(readFileSync('deploy/helm/sextant/values.yaml', 'utf8')) as {
    agents: Record<string, { replicas?: number }>;
    nats: { image: string };
  };

  it('has a Deployment for every agent, only the strategy agent scaling, and the NATS version the tests run', () => {
    expect(Object.keys(values.agents).sort()).toEqual([...AGENT_NAMES].sort());
    for (const [name, a] of Object.entries(values.agents))
      expect(a.replicas ?? 1, name).toBe(name === 'strategy' ? a.replicas : 1);
    expect(values.nats.image).toBe(`nats:${tools.nats.version.replace(/^v/, '')}-alpine`);
  });
});
