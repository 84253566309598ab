/**
 * The servers Sextant's distributed mode and its test suite need, on this machine:
 *
 *   npx tsx scripts/services.ts build            build (once) and print nats-server and FerretDB
 *   npx tsx scripts/services.ts run -- CMD ...   start both on free ports, run CMD with NATS_URL
 *                                                and MONGODB_URI set, stop them when CMD ends
 *
 * `run` with no command keeps them up until Ctrl-C and prints the variables to export.
 * Binaries are built from the Go module proxy into a cache outside the repository
 * (scripts/services/tools.ts); nothing is downloaded at run time.
 */
import { spawn } from 'node:child_process';
import { ensureNatsServer, ensureTool, tools, versionOf } from './services/tools.js';
import { startFerretDb, startNatsServer, type OwnServer } from './services/servers.js';

const say = (line: string) => console.error(line);

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'build') {
    const nats = ensureNatsServer(say);
    const ferret = ensureTool(tools.ferretdb, say);
    console.log(`nats-server: ${versionOf(nats)} (${nats})`);
    console.log(`ferretdb: ${versionOf(ferret)} (${ferret})`);
    return 0;
  }
  if (verb === 'run') {
    const cmd = rest[0] === '--' ? rest.slice(1) : rest;
    const servers: OwnServer[] = [];
    const stopAll = () => Promise.all(servers.map((s) => s.dispose()));
    try {
      const natsBin = ensureNatsServer(say);
      const nats = await startNatsServer(natsBin);
      servers.push(nats);
      const ferret = await startFerretDb(ensureTool(tools.ferretdb, say));
      servers.push(ferret);
      say(`started ${versionOf(natsBin)} at ${nats.url}; FerretDB ${tools.ferretdb.version} (SQLite) at ${ferret.url}`);
      const env = { ...process.env, NATS_URL: nats.url, MONGODB_URI: ferret.url };
      if (cmd.length === 0) {
        console.log(`export NATS_URL=${nats.url} MONGODB_URI=${ferret.url}`);
        say('running until Ctrl-C');
        await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
        return 0;
      }
      const child = spawn(cmd[0]!, cmd.slice(1), { stdio: 'inherit', env });
      const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
      process.on('SIGINT', forward('SIGINT')).on('SIGTERM', forward('SIGTERM'));
      return await new Promise<number>((resolve) =>
        child.once('exit', (code, signal) => resolve(code ?? (signal ? 129 : 1))),
      );
    } finally {
      await stopAll();
    }
  }
  say('usage: tsx scripts/services.ts build | run [-- CMD ...]');
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`services: ${(err as Error).message}`);
    process.exit(1);
  },
);
