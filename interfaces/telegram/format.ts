/** Telegram's longest message text. */
export const TELEGRAM_MESSAGE_LIMIT = 4096;

const PRE_OPEN = '<pre>';
const PRE_CLOSE = '</pre>';
/** Aligned columns (`padEnd` tables of the commands): two or more spaces between words. */
const TABULAR = /\S {2,}\S/;

/** Escapes the three characters Telegram's HTML parse mode reads as markup. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface Line {
  readonly html: string;
  readonly table: boolean;
}

/**
 * A reply's text as Telegram HTML messages (parse_mode HTML), each at most `limit` characters
 * of markup (Telegram counts the text after parsing, so this is on the safe side). Messages are
 * cut at line boundaries; a single longer line is cut inside. Runs of table lines (aligned
 * columns) go into `<pre>` so they stay aligned on a phone; a `<pre>` never spans two messages.
 */
export function toTelegramHtml(text: string, limit = TELEGRAM_MESSAGE_LIMIT): string[] {
  const room = limit - PRE_OPEN.length - PRE_CLOSE.length;
  const lines: Line[] = [];
  for (const raw of (text.trim().length > 0 ? text : '(no answer)').replace(/\r\n?/g, '\n').split('\n')) {
    const table = TABULAR.test(raw);
    for (const html of cutLine(raw, room)) lines.push({ html, table });
  }
  const messages: string[] = [];
  let current: Line[] = [];
  let size = 0;
  for (const line of lines) {
    if (current.length > 0 && size + cost(current, line) > limit) {
      messages.push(render(current));
      current = [];
      size = 0;
    }
    size += cost(current, line);
    current.push(line);
  }
  if (current.length > 0) messages.push(render(current));
  return messages.filter((m) => m.trim().length > 0); // Telegram refuses an empty message
}

/** Characters `line` adds to a message ending with `current`: a newline, and `<pre></pre>` when it opens a table. */
function cost(current: readonly Line[], line: Line): number {
  const opensTable = line.table && current.at(-1)?.table !== true;
  return (current.length > 0 ? 1 : 0) + line.html.length + (opensTable ? PRE_OPEN.length + PRE_CLOSE.length : 0);
}

/** One line as escaped pieces of at most `room` characters (escapes are never cut). */
function cutLine(raw: string, room: number): string[] {
  const html = escapeHtml(raw);
  if (html.length <= room) return [html];
  const pieces: string[] = [];
  let piece = '';
  for (const ch of raw) {
    const esc = escapeHtml(ch);
    if (piece.length + esc.length > room) {
      pieces.push(piece);
      piece = '';
    }
    piece += esc;
  }
  if (piece.length > 0) pieces.push(piece);
  return pieces;
}

function render(lines: readonly Line[]): string {
  const out: string[] = [];
  let table: string[] = [];
  const flush = () => {
    if (table.length > 0) out.push(`${PRE_OPEN}${table.join('\n')}${PRE_CLOSE}`);
    table = [];
  };
  for (const l of lines) {
    if (l.table) {
      table.push(l.html);
    } else {
      flush();
      out.push(l.html);
    }
  }
  flush();
  return out.join('\n');
}
