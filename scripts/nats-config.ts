/**
 * Writes the NATS server configuration of a deployment, deploy/nats/nats.conf: one user per role with
 * the permissions derived from the message catalog (bus/nats-permissions.ts). `npm run nats:config`
 * rewrites it; `-- --check` exits 1 when it is stale (tests/unit/nats-permissions.test.ts checks it
 * too); `-- --namespace NAME --out FILE` writes one for a deployment with SEXTANT_NAMESPACE=NAME.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderNatsConfig } from '../bus/nats-permissions.js';

export const NATS_CONFIG_FILE = 'deploy/nats/nats.conf';

const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, namespace: { type: 'string' }, out: { type: 'string' } },
});
const file = values.out ?? NATS_CONFIG_FILE;
const next = renderNatsConfig(values.namespace ? { namespace: values.namespace } : {});
let old = '';
try {
  old = readFileSync(file, 'utf8');
} catch {
  // not written yet
}
if (values.check) {
  if (old !== next) {
    console.error(`${file} is out of date with the message catalog: run npm run nats:config`);
    process.exit(1);
  }
} else if (old === next) console.log(`${file} is up to date`);
else {
  writeFileSync(file, next);
  console.log(`wrote ${file}`);
}
