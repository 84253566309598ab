/**
 * Checks the deployment files under deploy/ with the tools that read them (`npm run check:deploy`;
 * `.ci/run` runs it in its "deployment files" step):
 *
 *   - Prometheus: `promtool check config` and `check rules` on deploy/prometheus, `promtool test
 *     rules` on its unit tests, and every PromQL query of the Grafana dashboard parsed by promtool
 *     (written as recording rules, Grafana's variables replaced by plain values);
 *   - Kubernetes: `helm lint` and `helm template` of deploy/helm/sextant with each values file of
 *     deploy/helm/ci, each rendering validated by kubeconform against the Kubernetes JSON schemas,
 *     strictly (unknown fields are errors); the chart's own guards are exercised (renders that must
 *     fail), and kubeconform is shown a broken manifest that it must refuse.
 *
 * Nothing is downloaded at run time beyond package registries: promtool is Debian's `prometheus`
 * package (`apt-get install prometheus`; .ci/run installs it), helm and kubeconform are built from
 * the Go module proxy into the tools cache (scripts/services/tools.ts), and the schemas come from
 * the `kubernetes-validate` wheel on PyPI (which vendors them), made standalone once into the same
 * cache. The metric names the dashboard and rules use are checked against Sextant's registry by
 * tests/unit/deploy-observability.test.ts (npm test).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ensureTool, tools, toolsDir } from './services/tools.js';

const CHART = 'deploy/helm/sextant';
const CI_VALUES = 'deploy/helm/ci';
const PROMETHEUS = 'deploy/prometheus';
const DASHBOARD = 'deploy/grafana/dashboards/sextant.json';
/** The Kubernetes schemas: the `kubernetes-validate` wheel (PyPI) vendors them, one folder per release. */
const SCHEMAS = { wheel: 'kubernetes-validate', version: '1.37.0', kubernetes: 'v1.34.0' } as const;

const say = (line: string) => console.log(line);

class CheckFailed extends Error {
  override readonly name = 'CheckFailed';
}

/** Runs a command; its output is shown; a non-zero exit fails the check unless `expectFailure`. */
function run(cmd: string, args: readonly string[], opts: { cwd?: string; expectFailure?: RegExp } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  const shown = `${basename(cmd)} ${args.join(' ')}`;
  if (r.error) throw new CheckFailed(`${shown}: ${r.error.message}`);
  if (opts.expectFailure) {
    if (r.status === 0) throw new CheckFailed(`${shown} succeeded, but must fail (${opts.expectFailure})`);
    if (!opts.expectFailure.test(out)) throw new CheckFailed(`${shown} failed for another reason:\n${out}`);
    say(`  refused as it must: ${shown}`);
    return out;
  }
  if (r.status !== 0) throw new CheckFailed(`${shown} exited ${r.status ?? r.signal}:\n${out}`);
  return out;
}

function promtool(): string {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
  if (!found)
    throw new CheckFailed(
      "promtool is not installed: it comes with Debian's prometheus package (apt-get install --no-install-recommends prometheus)",
    );
  return found;
}

function checkPrometheus(): void {
  const bin = promtool();
  say(`== Prometheus (${run(bin, ['--version']).split('\n')[0]})`);
  say(run(bin, ['check', 'config', 'prometheus.yml'], { cwd: PROMETHEUS }));
  say(run(bin, ['check', 'rules', 'alerts.yml'], { cwd: PROMETHEUS }));
  say(run(bin, ['test', 'rules', 'alerts.test.yml'], { cwd: PROMETHEUS }));

  // the dashboard's queries, parsed by promtool as recording rules
  const exprs = dashboardExprs(JSON.parse(readFileSync(DASHBOARD, 'utf8')));
  const dir = mkdtempSync(join(tmpdir(), 'sextant-dashboard-'));
  try {
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: grafanaToPromQL(e.expr) })),
        },
      ],
    };
    writeFileSync(join(dir, 'dashboard.rules.json'), JSON.stringify(rules));
    run(bin, ['check', 'rules', join(dir, 'dashboard.rules.json')]);
    say(`dashboard: ${exprs.length} PromQL queries of ${basename(DASHBOARD)} parse`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every query of a Grafana dashboard (panels, rows' panels, query variables), with where it is. */
export function dashboardExprs(dash: unknown): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  type Panel = { title?: string; panels?: Panel[]; targets?: { expr?: string; refId?: string }[] };
  const walk = (panels: Panel[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `${p.title} ${t.refId}`, expr: t.expr });
      walk(p.panels);
    }
  };
  const d = dash as { panels?: Panel[]; templating?: { list?: { name: string; query?: unknown }[] } };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    // label_values(metric, label) is Grafana's, not PromQL: its metric is the query
    const m = q && /^label_values\((.+),\s*\w+\)$/.exec(q);
    if (m) out.push({ where: `variable ${v.name}`, expr: m[1]! });
  }
  return out;
}

/** Grafana's variables as plain values, so that promtool can parse the query. */
export function grafanaToPromQL(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '5m')
    .replace(/\$\{?\w+\}?/g, '.*')
    .trim();
}

/** The Kubernetes JSON schemas, made standalone (each kind with the definitions it uses), cached. */
function kubernetesSchemas(): string {
  const dir = join(toolsDir(), `k8s-schemas@${SCHEMAS.wheel}-${SCHEMAS.version}-${SCHEMAS.kubernetes}`);
  if (existsSync(join(dir, 'deployment-apps-v1.json'))) return dir;
  const tmp = `${dir}.building-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  say(
    `making the Kubernetes ${SCHEMAS.kubernetes} schemas from ${SCHEMAS.wheel} ${SCHEMAS.version} (PyPI) into ${dir}`,
  );
  const pip = spawnSync(
    'python3',
    [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--disable-pip-version-check',
      '-q',
      '-d',
      tmp,
      `${SCHEMAS.wheel}==${SCHEMAS.version}`,
    ],
    { encoding: 'utf8' },
  );
  if (pip.status !== 0)
    throw new CheckFailed(`pip download ${SCHEMAS.wheel}==${SCHEMAS.version} failed: ${pip.stderr}`);
  const wheel = readdirSync(tmp).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new CheckFailed(`pip download ${SCHEMAS.wheel} left no wheel in ${tmp}`);
  const inner = `kubernetes_validate/kubernetes-json-schema/${SCHEMAS.kubernetes}-local-strict/`;
  const unzip = spawnSync(
    'python3',
    [
      '-c',
      'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nz.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith(sys.argv[3])])',
      join(tmp, wheel),
      join(tmp, 'x'),
      inner,
    ],
    { encoding: 'utf8' },
  );
  if (unzip.status !== 0) throw new CheckFailed(`cannot read ${wheel}: ${unzip.stderr}`);
  const src = join(tmp, 'x', inner);
  const out = join(tmp, 'schemas');
  mkdirSync(out);
  const n = makeStandalone(src, out);
  if (n < 100) throw new CheckFailed(`${wheel} held ${n} schemas for ${SCHEMAS.kubernetes}; expected hundreds`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(out, dir);
  rmSync(tmp, { recursive: true, force: true });
  say(`made ${n} standalone schemas`);
  return dir;
}

/**
 * kubernetes-validate's schemas point into one shared `/api/_definitions.json`, a reference
 * kubeconform cannot follow from a file (it then reports "could not find schema"). Each kind's
 * file is written again with the definitions it reaches under its own `$defs`, as kubeconform's
 * "standalone" schemas are.
 */
function makeStandalone(src: string, out: string): number {
  type Json = unknown;
  const defs = (JSON.parse(readFileSync(join(src, '_definitions.json'), 'utf8')) as { $defs: Record<string, Json> })
    .$defs;
  const MARK = '#/$defs/';
  const refsOf = (node: Json, found: string[]): string[] => {
    if (Array.isArray(node)) for (const v of node) refsOf(v, found);
    else if (node && typeof node === 'object')
      for (const [k, v] of Object.entries(node))
        if (k === '$ref' && typeof v === 'string' && v.includes(MARK))
          found.push(v.slice(v.indexOf(MARK) + MARK.length));
        else refsOf(v, found);
    return found;
  };
  const local = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(local);
    if (node && typeof node === 'object')
      return Object.fromEntries(
        Object.entries(node).map(([k, v]) => [
          k,
          k === '$ref' && typeof v === 'string' && v.includes(MARK) ? v.slice(v.indexOf(MARK)) : local(v),
        ]),
      );
    return node;
  };
  let n = 0;
  for (const file of readdirSync(src)) {
    if (!file.endsWith('.json') || file.startsWith('_')) continue;
    const schema = JSON.parse(readFileSync(join(src, file), 'utf8')) as Record<string, Json>;
    const need = new Set<string>();
    const todo = refsOf(schema, []);
    while (todo.length > 0) {
      const name = todo.pop()!;
      if (need.has(name)) continue;
      if (!(name in defs)) throw new CheckFailed(`${file}: no definition ${name} in _definitions.json`);
      need.add(name);
      refsOf(defs[name], todo);
    }
    const standalone = {
      ...(local(schema) as object),
      $defs: Object.fromEntries([...need].sort().map((k) => [k, local(defs[k])])),
    };
    writeFileSync(join(out, file), JSON.stringify(standalone));
    n++;
  }
  return n;
}

function checkKubernetes(): void {
  const helm = ensureTool(tools.helm, say);
  const kubeconform = ensureTool(tools.kubeconform, say);
  const schemas = kubernetesSchemas();
  say(
    `\n== Kubernetes (helm ${tools.helm.version}, kubeconform ${tools.kubeconform.version}, schemas ${SCHEMAS.kubernetes})`,
  );
  const validate = (files: string[], expectFailure?: RegExp) =>
    run(
      kubeconform,
      ['-strict', '-summary', '-schema-location', join(schemas, '{{ .ResourceKind }}{{ .KindSuffix }}.json'), ...files],
      expectFailure ? { expectFailure } : {},
    );
  const dir = mkdtempSync(join(tmpdir(), 'sextant-helm-'));
  try {
    // the validator itself: a broken manifest is refused for each of its faults (reported in any order)
    const bad = join(dir, 'broken.yaml');
    writeFileSync(
      bad,
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken}\nspec:\n  replicas: two\n  selector: {matchLabels: {a: b}}\n' +
        '  strategy: {type: Recreate, surge: 1}\n  template:\n    metadata: {labels: {a: b}}\n' +
        '    spec: {containers: [{name: c, image: i, livenessProbe: {httpGet: {path: /health}}}]}\n',
    );
    validate(
      [bad],
      /^(?=[\s\S]*replicas': got string)(?=[\s\S]*additional properties 'surge')(?=[\s\S]*missing property 'port')/,
    );

    const valueFiles = readdirSync(CI_VALUES).filter((f) => f.endsWith('.yaml'));
    say(run(helm, ['lint', '--strict', CHART, '-f', join(CI_VALUES, valueFiles[0]!)]));
    for (const values of valueFiles) {
      const out = join(dir, values.replace(/\.yaml$/, '.rendered.yaml'));
      writeFileSync(
        out,
        run(helm, ['template', 'sextant', CHART, '--namespace', 'sextant', '-f', join(CI_VALUES, values)]),
      );
      const kinds = [...readFileSync(out, 'utf8').matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]);
      say(`${values}: rendered ${kinds.length} resources (${[...new Set(kinds)].sort().join(', ')})`);
      const summary = validate([out]);
      say(summary);
      if (!/Invalid: 0, Errors: 0, Skipped: 0/.test(summary))
        throw new CheckFailed(`kubeconform on ${values}: ${summary}`);
    }

    // the chart's guards
    const defaults = join(CI_VALUES, 'values.yaml');
    run(helm, ['template', 'sextant', CHART, '-f', defaults, '--set', 'agents.risk.replicas=2'], {
      expectFailure: /agents\.risk\.replicas: the risk agent .* runs as exactly one instance/,
    });
    run(helm, ['template', 'sextant', CHART], { expectFailure: /SEXTANT_API_TOKENS is required/ });
    run(helm, ['template', 'sextant', CHART, '-f', defaults, '--set', 'mongodb.enabled=false'], {
      expectFailure: /MONGODB_URI is required when mongodb.enabled is false/,
    });
    run(helm, ['template', 'sextant', CHART, '-f', defaults, '--set', 'nats.replicas=1'], {
      expectFailure: /at least 3 servers/,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(argv: string[]): number {
  const only = argv[0];
  if (only && only !== 'prometheus' && only !== 'kubernetes') {
    console.error('usage: tsx scripts/check-deploy.ts [prometheus|kubernetes]');
    return 2;
  }
  try {
    if (!only || only === 'prometheus') checkPrometheus();
    if (!only || only === 'kubernetes') checkKubernetes();
  } catch (err) {
    console.error(`\n!!! deployment check failed: ${(err as Error).message}`);
    return 1;
  }
  say('\ndeployment files: OK');
  return 0;
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) process.exit(main(process.argv.slice(2)));
