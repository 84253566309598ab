/**
 * The dashboard's DOM and number helpers. Every bit of data goes into the page as text
 * (`textContent`), never as HTML.
 */

/** The element with this id (the page has them all: a missing one is a bug in page.ts). */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

type Props = Record<string, unknown> & { text?: unknown; class?: string; title?: unknown };
type Child = Node | string | null | undefined;

/** An element with text content (never HTML), attributes, handlers (`onclick`) and children. */
export function h(tag: string, props?: Props | null, children?: readonly Child[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k === 'class') e.className = String(v);
    else if (k === 'title') e.title = String(v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v as EventListener);
    else if (k.startsWith('data-')) e.setAttribute(k, String(v));
    else (e as unknown as Record<string, unknown>)[k] = v;
  }
  for (const c of children ?? [])
    if (c !== null && c !== undefined) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

export function clear<T extends HTMLElement>(e: T): T {
  while (e.firstChild) e.removeChild(e.firstChild);
  return e;
}

/** The first body of a table. */
export const tbody = (id: string): HTMLTableSectionElement => $<HTMLTableElement>(id).tBodies[0]!;

export function num(x: unknown, digits = 2): string {
  if (typeof x !== 'number' || !isFinite(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const qty = (x: unknown): string =>
  typeof x === 'number' ? x.toLocaleString('en-US', { maximumFractionDigits: 6 }) : '–';
export const pct = (x: unknown): string => (typeof x === 'number' && isFinite(x) ? (100 * x).toFixed(2) + '%' : '–');
export const signClass = (x: unknown): string =>
  typeof x === 'number' && x > 0 ? 'n pos' : typeof x === 'number' && x < 0 ? 'n neg' : 'n';

export function clock(t: unknown): string {
  if (typeof t !== 'number') return '–';
  const d = new Date(t);
  return isNaN(d.getTime()) ? '–' : d.toISOString().replace('T', ' ').slice(0, 19);
}

/** Month, day and time (UTC): short enough for a table column on a phone. */
export function short(t: unknown): string {
  const c = clock(t);
  return c === '–' ? c : c.slice(5);
}
