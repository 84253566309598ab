import type { Caller, CommandRouter, Reply } from '../commands/index.js';
import { parseIntent } from './offline-parser.js';

/**
 * Answers a line without a model: a typed command goes to the router as it is; plain language
 * goes through the offline intent parser; anything else gets what can be asked.
 */
export function offlineAnswer<S>(router: CommandRouter<S>, caller: Caller): (line: string) => Promise<Reply> {
  return async (line) => {
    const first = line.trim().split(/\s+/)[0] ?? '';
    const command = parseIntent(line);
    if (router.knows(first)) {
      const typed = await router.handle(line, caller);
      // "buy 2 shares of ORCL" starts like a command but is plain language
      if (typed.ok || typed.code !== 'bad_arguments' || !command || command === line.trim()) return typed;
    }
    if (command) {
      const reply = await router.handle(command, caller);
      return { ...reply, text: `(I read that as \`${command}\`.)\n${reply.text}` };
    }
    return {
      ok: false,
      code: 'not_understood',
      text: `I could not read that as a command. Ask e.g. "what's my pnl today", "positions", "why did we buy ORCL", "buy 10 ORCL", "stop trading".\n${router.help(caller).text}`,
    };
  };
}
