import { parseArgs } from 'node:util';
import { AGENT_NAMES, type AgentName, redactConfig, createLogger } from '../core/index.js';
import { ConfigError, loadConfig, renderEnvExample } from '../../config/index.js';

// Each command's module is imported when that command runs: a study or a backtest does not load
// the HTTP API, the bots, the metrics or the chat (start-up counts in a short command's time).

const HELP = `sextant — an actor-based multi-agent trading system

Usage: sextant <command> [options]

Commands:
  start [--until-feed-end]
                        Run every agent in this process (in-memory bus unless NATS_URL is set);
                        resumes from the last checkpoint in the store. --until-feed-end stops
                        (checkpointed) once a file feed is done.
  store check|repair    Check the embedded store's database (integrity, row counts); repair moves
                        corrupt lines of append-log files awaiting import aside (nothing is deleted)
  replay <file|stream:NAME> [--verify]
                        Replay a recording through fresh agents; compare decisions (sextant replay --help)
  record export         Write a JetStream recording as NDJSON (sextant record --help)
  api                   Run the HTTP API alone (PORT) against NATS_URL, for deployments
  bots                  Run the Telegram and Discord bots alone (TELEGRAM_BOT_TOKEN, DISCORD_TOKEN)
                        against NATS_URL, for deployments; \`sextant start\` runs them too
  recorder              Write every bus message to the store (the event log behind trace and
                        events) and answer store queries, for deployments where each agent
                        runs alone (MONGODB_URI, or the embedded store)
  chat                  A terminal chat (commands and plain questions) against NATS_URL;
                        \`sextant start --chat\` chats with the embedded system instead
  agent <name>          Run one agent (${AGENT_NAMES.join(', ')}) against NATS_URL
  backtest [options]    Backtest a CSV of bars through the agents (sextant backtest --help)
  optimize [options]    Sweep strategy parameters (grid or seeded random), each trial a backtest
                        in worker threads, ranked by an objective (sextant optimize --help)
  walk-forward [options]  Optimize in-sample, trade the winner out-of-sample, window after
                        window; joined equity, efficiency, parameter stability (--help)
  montecarlo [options]  Resample a backtest's trades: percentiles of return and drawdown, and
                        the probability of ruin (sextant montecarlo --help)
  strategy list|new     The strategies and their parameters; scaffold a strategy file
                        (sextant strategy --help, docs/strategies.md)
  sentiment eval|score  Evaluate the default sentiment scorer on a labelled CSV, or score a text
                        (sextant sentiment --help)
  config [--env-example]  Print the effective configuration (secrets redacted), or .env.example
  help                  This text

Configuration comes from environment variables (see .env.example) and an optional JSON file
named by SEXTANT_CONFIG_FILE. An error is one line; --debug adds its stack.`;

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // --debug (anywhere) adds the stack to an error; a person's mistake is otherwise one line
  const debug = argv.includes('--debug');
  const [command, ...rest] = argv.filter((a) => a !== '--debug');
  try {
    switch (command) {
      case 'start':
        return await runAgents(undefined, rest);
      case 'store':
        return await (await import('./store-command.js')).storeCommand(rest);
      case 'replay':
        return await (await import('./replay-command.js')).replayCommand(rest);
      case 'record':
        return await (await import('./record-command.js')).recordCommand(rest);
      case 'api':
        return await runAgents('api', rest);
      case 'chat':
        return await runAgents('chat', rest);
      case 'bots':
        return await runAgents('bots', rest);
      case 'recorder':
        return await runAgents('recorder', rest);
      case 'agent': {
        const name = rest[0];
        if (!name || !(AGENT_NAMES as readonly string[]).includes(name)) {
          console.error(`sextant agent: name one agent of ${AGENT_NAMES.join(', ')}`);
          return 2;
        }
        return await runAgents(name as AgentName, rest.slice(1));
      }
      case 'backtest':
        return await (await import('./backtest-command.js')).backtestCommand(rest);
      case 'optimize':
        return await (await import('./optimize-command.js')).optimizeCommand(rest);
      case 'montecarlo':
        return await (await import('./montecarlo-command.js')).montecarloCommand(rest);
      case 'walk-forward':
        return await (await import('./walk-forward-command.js')).walkForwardCommand(rest);
      case 'strategy':
        return await (await import('./strategy-command.js')).strategyCommand(rest);
      case 'sentiment':
        return await (await import('./sentiment-command.js')).sentimentCommand(rest);
      case 'config':
        if (rest[0] === '--env-example') console.log(renderEnvExample());
        else console.log(JSON.stringify(redactConfig(loadConfig()), null, 2));
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(HELP);
        return 0;
      default:
        console.error(`sextant: unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    console.error(`sextant ${command}: ${(err as Error).message}`);
    if (debug && err instanceof Error && err.stack) console.error(err.stack);
    return 1;
  }
}

/** `start` (all configured agents) or `agent <name>`; runs until SIGINT/SIGTERM, then drains. */
async function runAgents(
  only: AgentName | 'api' | 'chat' | 'bots' | 'recorder' | undefined,
  args: string[],
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { 'until-feed-end': { type: 'boolean', default: false }, chat: { type: 'boolean', default: false } },
  });
  const [
    { startSystem },
    { dashboardLine, localAccess },
    { banner, isPretty, prettyLogger },
    { Narrator },
    { runRepl },
  ] = await Promise.all([
    import('./start-system.js'),
    import('./local-token.js'),
    import('./terminal.js'),
    import('../../interfaces/terminal/index.js'),
    import('../../interfaces/chat/index.js'),
  ]);
  let config = loadConfig();
  if (only && !config.natsUrl) {
    const what =
      only === 'api' || only === 'chat' || only === 'bots' || only === 'recorder'
        ? `sextant ${only}`
        : `sextant agent ${only}`;
    throw new ConfigError([
      `NATS_URL: required by "${what}"; alone on an in-memory bus it would talk to nobody. Use "sextant start" to run everything in one process.`,
    ]);
  }
  const interfaceOnly = only === 'api' || only === 'chat' || only === 'bots' || only === 'recorder';
  if (only === 'recorder') {
    if (config.store.kind === 'off')
      throw new ConfigError([
        'STORE: "sextant recorder" writes the event log to the store; STORE=off leaves it nothing to do. Expected auto, embedded or mongodb',
      ]);
    config = { ...config, store: { ...config.store, record: 'on' } };
  }
  if (only === 'bots' && !config.telegram.token && !config.discord.token) {
    throw new ConfigError([
      'TELEGRAM_BOT_TOKEN: "sextant bots" needs TELEGRAM_BOT_TOKEN or DISCORD_TOKEN (or both); neither is set',
    ]);
  }
  if (interfaceOnly && only !== 'recorder' && config.store.kind === 'auto' && !config.mongoUri) {
    // the API process keeps no embedded store of its own: the agents' processes hold the data
    config = { ...config, store: { ...config.store, kind: 'off' } };
  }
  const chat = only === 'chat' || values.chat;
  // a terminal chat keeps the log off the screen it talks on (errors only)
  const tty = process.stdout.isTTY === true;
  // a person at a terminal reads a banner and one line per decision; a log collector gets JSON lines
  const pretty = !chat && isPretty(config, tty);
  const logger = createLogger({
    level: chat ? 'error' : config.logLevel,
    instance: config.instance,
    ...(pretty ? prettyLogger(config, tty) : {}),
  });
  const api = (!only || only === 'api') && config.port > 0;
  // a first start opens: without SEXTANT_API_TOKENS the API gets a local admin token (src/cli/local-token.ts)
  const access = api ? await localAccess(config) : undefined;
  if (access) config = access.config;
  if (access?.local?.created) {
    logger.info(
      { file: access.local.file },
      'made a local admin token for the dashboard and API (owner-only file; reused on later starts)',
    );
  }
  const system = await startSystem(config, logger, interfaceOnly ? [] : only ? [only] : config.runtime.agents, {
    api: !only || only === 'api',
    chat,
    bots: !only || only === 'bots',
    // each process of a deployment signs in as its role (a terminal chat as the API: an interface)
    ...(only ? { role: only === 'chat' ? 'api' : only } : {}),
    ...(pretty && !interfaceOnly ? { narrator: new Narrator({ write: (line) => console.log(line), color: tty }) } : {}),
  });
  // printed, not logged: with the local token on a terminal the line carries it (never in a log line)
  const dashboard = access ? dashboardLine(config, access.local, tty) : undefined;
  if (pretty)
    console.log(
      banner(
        config,
        system.kernel.hosts.map((h) => h.name as AgentName),
        dashboard,
      ),
    );
  else if (dashboard) console.log(dashboard);
  if (chat) {
    const caller = { id: 'repl:local', role: 'admin' } as const; // the person at the terminal owns the process
    // Ctrl-C or a stop signal ends the chat like "exit": the system still drains and checkpoints
    const ended = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await Promise.race([
      runRepl(process.stdin, process.stdout, (line) => system.chat!.ask('repl:local', caller, line)),
      ended,
    ]);
    await system.stop();
    process.stdin.destroy();
    return 0;
  }
  logger.info({ agents: system.kernel.hosts.map((h) => h.name) }, 'sextant running; Ctrl-C to stop');
  /** The account and trading state now: what a person who ran this wants to know at the end. */
  const result = async () => {
    const viewer = { id: 'cli:local', role: 'viewer' } as const;
    const [status, pnl] = await Promise.all([
      system.commands.handle('status', viewer),
      system.commands.handle('pnl all', viewer),
    ]);
    console.log(`${status.text}\n${pnl.text}`);
  };
  return new Promise<number>((resolve) => {
    if (values['until-feed-end']) {
      void system.feedDone().then(async () => {
        // the result, for the person who ran it: the account and trading state at the end
        logger.info('the feed has ended; stopping');
        console.log('The feed has ended.');
        await result();
        await system.stop();
        resolve(0);
      });
    }
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        logger.warn({ signal }, 'second signal: exiting without draining');
        resolve(130);
        return;
      }
      logger.info({ signal }, 'stopping: draining subscriptions');
      // a person watching gets the result before the process goes
      const told = pretty && system.kernel.hosts.length > 0 ? result().catch(() => undefined) : Promise.resolve();
      void told
        .then(() => system.stop())
        .then(
          () => resolve(0),
          (err: unknown) => {
            logger.error({ err }, 'stop failed');
            resolve(1);
          },
        );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
