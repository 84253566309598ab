import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AGENT_NAMES } from '../../src/core/messaging/subjects.js';
import { configKeys } from '../../config/keys.js';
import { main } from '../../src/cli/main.js';
import { tools } from '../../scripts/services/tools.js';

/**
 * Docker cannot run here (no engine), so the deployment files are checked as far as they can
 * be without one: the Dockerfile with a linter, the compose file for what a deployment needs.
 * `.ci/run` also has docker-compose parse the compose file when it is installed.
 */
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  profiles?: string[];
  volumes?: string[];
  secrets?: string[];
  ports?: string[];
}

const dockerfile = readFileSync('Dockerfile', 'utf8');
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

describe('Dockerfile', () => {
  it('lints clean (dockerfile-utils), and the linter does catch a broken one', () => {
    expect(validate(dockerfile)).toEqual([]);
    expect(validate('FROM node:20\nEXPOSE port\nCMD').length).toBeGreaterThan(0);
  });

  it('is multi-stage, installs production dependencies only in the image, and runs as a non-root user', () => {
    const stages = dockerfile.split('\n').filter((l) => l.startsWith('FROM '));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(final).toMatch(/COPY --from=prod-deps \/app\/node_modules/);
    expect(final).toMatch(/^USER node$/m);
    expect(final).toMatch(/ENTRYPOINT \[.*"dist\/sextant\.mjs"\]/);
  });
});

describe('docker-compose.yml', () => {
  const sextant = Object.entries(compose.services).filter(([, s]) => s.image === 'sextant:latest');

  it('runs NATS with JetStream and MongoDB, each on a volume with a health check', () => {
    const { nats, mongo } = compose.services;
    expect(nats?.command?.join(' ')).toMatch(/exec nats-server -c \/etc\/nats\/nats\.conf -js /);
    expect(nats?.volumes?.[0]).toMatch(/^nats-data:/);
    expect(mongo?.volumes?.[0]).toMatch(/^mongo-data:/);
    expect(nats?.healthcheck?.test?.join(' ')).toMatch(/healthz/);
    expect(mongo?.healthcheck?.test?.join(' ')).toMatch(/ping/);
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['nats-data', 'mongo-data']));
  });

  it('runs NATS with the generated users (deploy/nats/nats.conf), reachable from the host loopback only; each Sextant service signs in as its role with its own password', () => {
    const nats = compose.services.nats!;
    expect(nats.volumes).toContain('./deploy/nats/nats.conf:/etc/nats/nats.conf:ro');
    expect(nats.ports).toEqual(['127.0.0.1:${NATS_PORT:-4222}:4222']);
    const roles: Record<string, string> = {};
    for (const [name, s] of sextant) {
      const user = s.environment?.NATS_USER;
      expect(user, name).toBeDefined();
      roles[name] = user!;
      expect(s.environment?.NATS_PASSWORD_FILE, name).toBe(`/run/secrets/nats-${user}`);
      // its own password only: no other role's secret is mounted in its container
      expect(s.secrets, name).toEqual([`nats-${user}`]);
    }
    expect(roles).toMatchObject({
      risk: 'risk',
      execution: 'execution',
      data: 'data',
      strategy: 'strategy',
      recorder: 'recorder',
      api: 'api',
      bots: 'bots',
    });
    expect(nats.secrets).toEqual(expect.arrayContaining(Object.values(roles).map((r) => `nats-${r}`)));
  });

  it('runs the NATS server version the test suite builds and runs, as the GitHub workflow does', () => {
    const version = tools.nats.version.replace(/^v/, '');
    expect(compose.services.nats?.image).toBe(`nats:${version}-alpine`);
    expect(readFileSync('.github/workflows/ci.yml', 'utf8')).toContain(`nats:${version} -js`);
  });

  it('has one service per agent, the API, the recorder and the bots (behind a profile)', () => {
    for (const agent of AGENT_NAMES) expect(compose.services[agent]?.command, agent).toEqual(['agent', agent]);
    expect(compose.services.api?.command).toEqual(['api']);
    expect(compose.services.recorder?.command).toEqual(['recorder']);
    expect(compose.services.bots?.command).toEqual(['bots']);
    expect(compose.services.bots?.profiles).toEqual(['bots']);
    expect(compose.services.api?.healthcheck?.test?.join(' ')).toMatch(/\/health/);
  });

  it('starts every Sextant service only once NATS and MongoDB are healthy, and the data agent after its consumers', () => {
    for (const [name, s] of sextant) {
      expect(s.depends_on?.nats?.condition, name).toBe('service_healthy');
      expect(s.depends_on?.mongo?.condition, name).toBe('service_healthy');
    }
    expect(Object.keys(compose.services.data?.depends_on ?? {})).toEqual(
      expect.arrayContaining(['portfolio', 'execution', 'risk', 'strategy', 'recorder']),
    );
  });

  it('sets only configuration keys Sextant knows, with values its configuration accepts', async () => {
    const known = new Set(Object.keys(configKeys));
    for (const [name, s] of sextant)
      for (const key of Object.keys(s.environment ?? {})) expect(known.has(key), `${name}: ${key}`).toBe(true);
    // the deployment's environment (with .env empty) passes the configuration's own validation
    const { loadConfig } = await import('../../config/load.js');
    // the mounted secret a container reads its NATS password from, here a file of the test's own
    const secret = join(mkdtempSync(join(tmpdir(), 'sextant-compose-')), 'nats-password');
    writeFileSync(secret, 'a-password\n');
    for (const [name, s] of sextant) {
      const env = Object.fromEntries(
        Object.entries(s.environment ?? {}).map(([k, v]) => [
          k,
          k === 'NATS_PASSWORD_FILE' ? secret : v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1'),
        ]),
      );
      expect(() => loadConfig({ env }), name).not.toThrow();
    }
  });

  it("every service's command is one the CLI has (its help lists it)", async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(' '));
    try {
      await main(['help']);
    } finally {
      console.log = log;
    }
    const help = lines.join('\n');
    for (const [, s] of sextant) expect(help).toMatch(new RegExp(`^  ${s.command![0]}\\b`, 'm'));
  });
});
