import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Reply } from '../commands/index.js';

/**
 * The terminal chat (`sextant chat`, `sextant start --chat`): one line in, the reply out, until
 * end of input or `exit`. Whatever answers (the command router, the conversational agent) is
 * given as `answer`; nothing here knows commands.
 */
export async function runRepl(
  input: Readable,
  output: Writable,
  answer: (line: string) => Promise<Reply>,
  prompt = 'sextant> ',
): Promise<void> {
  const rl = createInterface({ input, terminal: false });
  const write = (s: string) => output.write(s);
  write(`Type a command or a question ("help" lists them; "exit" leaves).\n${prompt}`);
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === 'exit' || line === 'quit') break;
    if (line.length > 0) {
      let reply: Reply;
      try {
        reply = await answer(line);
      } catch (err) {
        reply = { ok: false, code: 'failed', text: `That failed: ${(err as Error).message}` };
      }
      write(`${reply.text}\n`);
    }
    write(prompt);
  }
  rl.close();
  write('\n');
}
