import type { Caller, CommandRouter, Reply } from '../commands/index.js';
import { closestCommands, parseIntent } from './offline-parser.js';

/**
 * Answers a line without a model: a typed command goes to the router as it is; plain language
 * goes through the offline intent parser; anything else gets the closest commands, not a dump of
 * all of them.
 */
export function offlineAnswer<S>(router: CommandRouter<S>, caller: Caller): (line: string) => Promise<Reply> {
  return async (line) => {
    const first = line.trim().split(/\s+/)[0] ?? '';
    const command = parseIntent(line);
    // "halt trading", "resume everything": the words after the command are filler, not its reason
    if (command && command === first.toLowerCase() && command !== line.trim()) {
      const reply = await router.handle(command, caller);
      return { ...reply, text: `(I read that as \`${command}\`.)\n${reply.text}` };
    }
    if (router.knows(first)) {
      const typed = await router.handle(line, caller);
      // "buy 2 shares of ORCL" or "why did we buy ORCL" start like a command but are plain
      // language: when the typed reading fails and the parser reads something else, that wins
      if (typed.ok || !command || command === line.trim()) return typed;
    }
    if (command) {
      const reply = await router.handle(command, caller);
      return { ...reply, text: `(I read that as \`${command}\`.)\n${reply.text}` };
    }
    const names = router.tools(caller).map((t) => t.name);
    const closest = closestCommands(line, names, 3);
    return {
      ok: false,
      code: 'not_understood',
      text: `I could not read that as a command. Did you mean ${closest.map((c) => `\`${c}\``).join(', ')}? (\`help\` lists them all; or ask e.g. "what's my pnl today", "why did we buy ORCL", "buy 10 ORCL".)`,
    };
  };
}
