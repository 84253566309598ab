import type { PreviewInfo } from '../commands/index.js';

/**
 * What a model's words may not do: claim an action no tool took, or hand the person a preview id
 * of its own making. The model cannot act (its order, halt and limit tools only prepare previews,
 * and only the person confirms), so a sentence saying an order was executed, sent or filled, or
 * trading was halted, is never backed by this answer; the person gets the ground truth with it.
 */

/** Preview ids as the router makes them (interfaces/commands/router.ts): 6 of these characters. */
const PREVIEW_ID_CHARS = 'a-hjkmnp-z2-9';
const PREVIEW_ID = new RegExp(`^[${PREVIEW_ID_CHARS}]{6}$`);
/** An id-like word after "preview", "confirm" or "cancel" (`Preview abc234:`, `confirm #abc234`, `preview id: x`). */
const ID_AFTER_WORD =
  /\b(previews?|confirm(?:ation)?|cancel)(\s*(?:id|number|no\.?|code)?\s*[:#]?\s*)[`'"*_]{0,2}([a-z0-9][a-z0-9_-]{1,23})\b[`'"*_]{0,2}/gi;
/** A standalone word shaped like a preview id (both letters and digits). */
const ID_WORD = new RegExp(
  `\\b(?=[${PREVIEW_ID_CHARS}]*\\d)(?=[${PREVIEW_ID_CHARS}]*[a-z])[${PREVIEW_ID_CHARS}]{6}\\b`,
  'g',
);
/** Words after "preview"/"confirm" that are plain English, not ids. */
const NOT_AN_ID = new Set([
  'the',
  'this',
  'that',
  'it',
  'them',
  'these',
  'those',
  'your',
  'my',
  'its',
  'below',
  'above',
  'first',
  'before',
  'was',
  'is',
  'are',
  'were',
  'will',
  'would',
  'and',
  'or',
  'to',
  'of',
  'for',
  'with',
  'only',
  'shown',
  'made',
  'prepared',
  'ready',
  'here',
  'there',
  'which',
  'if',
  'when',
  'within',
  'in',
  'by',
  'a',
  'an',
  'any',
  'each',
  'every',
  'all',
  'again',
  'yourself',
  'instruction',
  'instructions',
  'command',
  'button',
  'order',
  'orders',
]);

/**
 * The model's text with every preview id it wrote taken out, except ids the person really has
 * waiting (`real`). After "confirm" or "cancel" any id goes (the person confirms from the real
 * preview, which the agent shows verbatim with its own confirm line); after "preview" an id-like
 * word goes (digits, a `#`/`id`/`:` before it, a `:` after it, or a preview id's shape); and a
 * standalone word shaped like a preview id goes unless it is real or came from a tool result
 * (`seen`: data the model was given).
 */
export function withoutInventedIds(text: string, real: ReadonlySet<string>, seen: string): string {
  const out = text.replace(
    ID_AFTER_WORD,
    (all: string, word: string, gap: string, id: string, at: number, whole: string): string => {
      if (NOT_AN_ID.has(id.toLowerCase())) return all;
      const lower = word.toLowerCase();
      if (lower.startsWith('confirm') || lower === 'cancel') return `${word} (only from a preview shown by Sextant)`;
      const marked = /[:#]|\bid\b/i.test(gap) || whole.slice(at + all.length).startsWith(':');
      if (real.has(id) || !(marked || /\d/.test(id) || looksLikePreviewId(id))) return all;
      return word;
    },
  );
  return out.replace(ID_WORD, (id) => (real.has(id) || seen.includes(id) ? id : '[no such preview]'));
}

/** True when `id` has the shape of a router's preview id. */
export function looksLikePreviewId(id: string): boolean {
  return PREVIEW_ID.test(id);
}

/**
 * Sentences that say something was done: an order executed, sent, placed, filled, bought or sold,
 * trading halted or resumed, a limit changed, a preview confirmed. Tested against a table of
 * claims and of plain reports (tests/unit/model-claims.test.ts); a false alarm costs one true line.
 */
const CLAIMS: readonly RegExp[] = [
  // "I executed the order", "I've placed it", "we have sold 10 ORCL", "I just halted trading"
  /\b(?:i|we)\s*(?:'ve|\s+have|\s+had|\s+just|\s+already|\s+successfully|\s+now)*\s+(?:executed|placed|sent|submitted|bought|sold|closed|filled|halted|resumed|stopped|paused|cancell?ed|confirmed|changed|set|updated|raised|lowered|reduced|liquidated|traded|went\s+ahead)\b/i,
  // "the order was executed", "your order has been filled", "trading is now halted", "limits were updated"
  /\b(?<!\bno\s)(?<!\bnot\s)(?:order|orders|trade|trades|position|positions|trading|limit|limits|halt|purchase|sale|it)\s+(?:has|have|is|was|were|got)\s+(?:now\s+|just\s+|already\s+|successfully\s+)?(?:been\s+)?(?:executed|placed|sent|submitted|filled|closed|halted|resumed|stopped|paused|cancell?ed|confirmed|changed|updated|completed|done|liquidated)\b/i,
  // "Done!", "Executed.", "Order placed", "Bought 10 ORCL" at the start of a sentence
  /(?:^|[.!?]\s+|\n\s*)(?:done|executed|order\s+(?:placed|sent|executed|filled|submitted)|bought|sold|halted|resumed|confirmed|all\s+set)\b/i,
  // "successfully executed", "has been executed"
  /\bsuccessfully\s+(?:executed|placed|sent|submitted|bought|sold|closed|filled|halted|resumed|confirmed)\b/i,
];

export function claimsAction(text: string): boolean {
  return CLAIMS.some((re) => re.test(text));
}

/**
 * The ground truth after a claim: nothing was sent by this answer, and what waits for the
 * person's confirm (`pending`, theirs only; ids as the router gave them).
 */
export function groundTruth(pending: readonly PreviewInfo[], now: number): string {
  const waiting = pending
    .filter((p) => p.expiresAt > now)
    .map((p) => `${p.id} (${p.summary}; ${Math.max(1, Math.round((p.expiresAt - now) / 1000))} s left)`);
  return `No order was sent and nothing was changed by this answer; pending previews: ${
    waiting.length ? waiting.join(', ') : 'none'
  }. Only you can send one, by confirming a preview shown by Sextant.`;
}
