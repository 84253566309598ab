/**
 * Writes the NATS server configuration of a deployment, deploy/nats/nats.conf: one user per role with
 * the permissions derived from the message catalog (bus/nats-permissions.ts). `npm run nats:config`
 * rewrites it; `-- --check` exits 1 when it is stale (tests/unit/nats-permissions.test.ts checks it
 * too); `-- --namespace NAME --out FILE` writes one for a deployment with SEXTANT_NAMESPACE=NAME;
 * `-- --secrets DIR` writes a random password for each user that has none yet into DIR/<user>
 * (owner-only files; the docker compose deployment mounts secrets/nats/<user>).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ADMIN_USER, BACKTEST_USER, renderNatsConfig } from '../bus/nats-permissions.js';
import { BUS_ROLES } from '../src/core/messaging/bus-roles.js';

export const NATS_CONFIG_FILE = 'deploy/nats/nats.conf';
/** The Helm chart's copy (a chart reads files inside it only). */
export const HELM_NATS_CONFIG_FILE = 'deploy/helm/sextant/files/nats-auth.conf';

const { values } = parseArgs({
  options: {
    check: { type: 'boolean', default: false },
    namespace: { type: 'string' },
    out: { type: 'string' },
    secrets: { type: 'string' },
  },
});
if (values.secrets) {
  mkdirSync(values.secrets, { recursive: true, mode: 0o700 });
  let made = 0;
  for (const user of [...BUS_ROLES, ADMIN_USER, BACKTEST_USER]) {
    const path = join(values.secrets, user);
    if (existsSync(path)) continue;
    writeFileSync(path, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    made++;
  }
  console.log(`${made} password(s) made in ${values.secrets} (existing ones kept)`);
  process.exit(0);
}
const files = values.out ? [values.out] : [NATS_CONFIG_FILE, HELM_NATS_CONFIG_FILE];
const next = renderNatsConfig(values.namespace ? { namespace: values.namespace } : {});
let stale = 0;
for (const file of files) {
  let old = '';
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    // not written yet
  }
  if (old === next) continue;
  stale++;
  if (values.check) console.error(`${file} is out of date with the message catalog: run npm run nats:config`);
  else {
    writeFileSync(file, next);
    console.log(`wrote ${file}`);
  }
}
if (values.check && stale > 0) process.exit(1);
if (!values.check && stale === 0) console.log(`${files.join(', ')}: up to date`);
