import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { artifactDir, chromiumOrSkip, launchChromium } from '../helpers/browser.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/free-port.js';

const OPERATOR = 'operator-token-e2e-0123456789';
const VIEWER = 'viewer-token-e2e-0123456789';
const chromiumPath = chromiumOrSkip('the dashboard browser tests');

/** Numbers the page shows (test reads, as strings: the TS here has no DOM types). */
const points = (page: Page) => page.evaluate<number>("Number(document.getElementById('equity-chart').dataset.points)");
/**
 * Polls a page expression until it is truthy (waitForFunction would eval it inside the page, which the dashboard's
 * CSP forbids).
 */
const until = (page: Page, expression: string, timeoutMs = 10_000) =>
  eventually(async () => expect(await page.evaluate<unknown>(expression)).toBeTruthy(), timeoutMs, 50);
/** A full-page screenshot from the top (the sticky header would otherwise sit mid-page). */
const shot = async (page: Page, file: string) => {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: file, fullPage: true, scale: 'css' });
};
const drawnPixels = (page: Page, selector: string) =>
  page.evaluate<number>(
    `(() => { const c = document.querySelector(${JSON.stringify(selector)}); if (!c) return 0; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++; return n; })()`,
  );

/**
 * The live dashboard in a real headless Chromium (Debian's, driven by playwright-core) against a
 * running system: synthetic feed every 100 ms, a fast SMA cross so the strategy trades within
 * seconds, the embedded store (for history and traces), the HTTP API on a free port.
 */
describe.skipIf(!chromiumPath)('dashboard in a real browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-e2e-'));
  const shots = artifactDir('e2e');
  let system: RunningSystem | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let base = '';
  const api = async <T>(path: string, token = OPERATOR): Promise<T> =>
    (await (await fetch(`${base}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const config = loadConfig({
      env: {
        PORT: String(port),
        SEXTANT_API_TOKENS: `${OPERATOR}:operator,${VIEWER}:viewer`,
        DATA_FEED: 'synthetic',
        DATA_PACE_MS: '100',
        STRATEGY_FAST: '2',
        STRATEGY_SLOW: '5',
        HEARTBEAT_INTERVAL_MS: '1000',
        SEXTANT_DATA_DIR: join(dir, 'data'),
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents, { api: true });
    browser = await launchChromium(chromiumPath!);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
  });
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks for a token, then draws the equity curve and keeps it moving', async () => {
    await page.goto(base);
    expect(await page.locator('#token-form').isVisible()).toBe(true);
    await page.fill('#token-input', OPERATOR);
    await page.click('#token-form button[type=submit]');
    await page.locator('#conn[data-state=live]').waitFor();
    await page.locator('#equity-chart canvas').waitFor();
    await until(page, "Number(document.getElementById('equity-chart').dataset.points) >= 3");
    const before = await points(page);
    await until(page, `Number(document.getElementById('equity-chart').dataset.points) > ${before}`);
    expect(await drawnPixels(page, '#equity-chart canvas')).toBeGreaterThan(100);
    expect(await drawnPixels(page, '#drawdown-chart canvas')).toBeGreaterThan(100);
    expect(await page.textContent('#s-equity')).toMatch(/^\d{1,3}(,\d{3})*\.\d\d$/);
    // every agent reports, with its lifecycle state and heartbeat
    await until(page, "document.querySelectorAll('#agents tbody tr').length >= 5");
    expect(await page.locator('#agents tbody tr[data-agent=risk] .badge').textContent()).toBe('running');
    expect(await page.locator('#sentiment-empty').isVisible()).toBe(true);
    expect(await page.textContent('#trading-state')).toBe('ACTIVE');
    await shot(page, join(shots, 'dashboard-desktop.png'));
  });

  it('a buy confirmed in the chat panel fills and shows up as a position', async () => {
    await page.fill('#chat-input', 'buy SYN 5');
    await page.press('#chat-input', 'Enter');
    const confirm = page.locator('.msg.bot button', { hasText: 'Confirm' }).last();
    await confirm.waitFor();
    expect(await page.locator('.msg.bot').last().textContent()).toMatch(/Preview \w+: buy 5 SYN at market/);
    await confirm.click();
    await page.locator('.msg.bot', { hasText: 'Risk approved buy 5 SYN' }).waitFor();
    // the strategy trades SYN too (long only, 100 at a time): the person's 5 stay on top of it,
    // once the fill (at the next bar) has reached the dashboard
    await until(
      page,
      "['5', '105'].includes(document.querySelector('#positions tbody tr[data-symbol=SYN] td:nth-child(2)')?.textContent.replace(/,/g, ''))",
      30_000,
    );
    await until(page, "document.querySelectorAll('#fills tbody tr').length > 0");
    // the person's 5 are their own book, apart from the strategy's, in the By strategy table
    await until(
      page,
      "[...document.querySelectorAll('#books tbody tr')].some((r) => r.dataset.origin.startsWith('person:') && r.children[1].textContent === 'SYN 5')",
      30_000,
    );
    await shot(page, join(shots, 'dashboard-position.png'));
  });

  it('Halt asks for confirmation (Cancel sends nothing), then halts; Resume the same way', async () => {
    await page.click('#halt');
    const dialog = page.locator('#confirm-dialog');
    await dialog.waitFor();
    expect(await page.textContent('#confirm-text')).toMatch(
      /^halt trading \(halt from the dashboard\)\nPreview \w+ expires in about 1[12]\d s\.$/,
    );
    await page.screenshot({ path: join(shots, 'dashboard-halt-confirm.png') });
    await page.click('#confirm-cancel');
    await dialog.waitFor({ state: 'hidden' });
    expect((await api<{ state: string }>('/risk')).state).toBe('ACTIVE');

    await page.click('#halt');
    await page.click('#confirm-ok');
    await dialog.waitFor({ state: 'hidden' });
    await page.locator('#trading-state', { hasText: 'HALTED' }).waitFor();
    expect((await api<{ state: string }>('/risk')).state).toBe('HALTED');
    expect(await page.isDisabled('#halt')).toBe(true);
    await page.screenshot({ path: join(shots, 'dashboard-halted.png') });

    await page.click('#resume');
    await page.click('#confirm-ok');
    await page.locator('#trading-state', { hasText: 'ACTIVE' }).waitFor();
    expect((await api<{ state: string }>('/risk')).state).toBe('ACTIVE');
  });

  it("the trace view shows a strategy decision's whole chain, bar to portfolio, as a timeline", async () => {
    type Fill = { correlationId: string; payload: { origin: { kind: string } } };
    const fill = await eventually(
      async () => {
        const f = (await api<Fill[]>('/events?type=order.filled&newest=true&limit=50')).find(
          (e) => e.payload.origin.kind === 'strategy',
        );
        expect(f).toBeDefined();
        return f!;
      },
      15_000,
      200,
    );
    const chain = [
      'market.bar',
      'signal.generated',
      'order.intent',
      'order.approved',
      'order.submitted',
      'order.filled',
      'portfolio.updated',
    ];
    await eventually(
      async () => {
        await page.fill('#trace-input', fill.correlationId);
        await page.click('#trace-form button[type=submit]');
        await page.locator('#trace-status', { hasText: 'messages in chain' }).waitFor({ timeout: 2000 });
        const types = await page.evaluate<string[]>(
          "[...document.querySelectorAll('#trace-timeline li')].map((li) => li.dataset.type)",
        );
        // in causal order (a bar that marks a held position also updates the portfolio before the signal)
        let at = 0;
        for (const t of types) if (t === chain[at]) at++;
        expect({ types, inOrder: at }).toEqual({ types, inOrder: chain.length });
        expect(types[0]).toBe('market.bar');
        expect(types.at(-1)).toBe('portfolio.updated');
      },
      10_000,
      250,
    );
    expect(await page.locator('#trace-timeline li[data-type="signal.generated"] .what').textContent()).toMatch(
      /^(buy|sell) SYN to \d+ @ [\d,.]+: .+/,
    );
    await page.locator('#trace-timeline').scrollIntoViewIfNeeded();
    await shot(page, join(shots, 'dashboard-trace.png'));
    // a fill's "trace" link opens its chain too
    await page.locator('#fills tbody tr').first().locator('button', { hasText: 'trace' }).click();
    await page.locator('#trace-timeline li[data-type="order.filled"]').waitFor();
  });

  it('fits a phone-width screen', async () => {
    const phone = await browser!.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    await phone.addInitScript(`localStorage.setItem('sextant.token', ${JSON.stringify(VIEWER)})`);
    const p = await phone.newPage();
    await p.goto(base);
    await p.locator('#conn[data-state=live]').waitFor();
    await until(p, "Number(document.getElementById('equity-chart').dataset.points) >= 2");
    expect(await p.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    expect(
      await p.evaluate<number>("document.querySelector('#equity-chart canvas').getBoundingClientRect().right"),
    ).toBeLessThanOrEqual(390);
    // a viewer watches but cannot halt: its controls are disabled, saying why (and the API refuses it anyway)
    await until(p, "document.getElementById('halt').title === 'needs an operator token'");
    expect(await p.locator('#halt').isDisabled()).toBe(true);
    expect(await p.locator('#resume').isDisabled()).toBe(true);
    const refused = await fetch(`${base}/api/v1/risk/halt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VIEWER}` },
    });
    expect(refused.status).toBe(403);
    await shot(p, join(shots, 'dashboard-phone.png'));
    await phone.close();
  });

  it('shows sentiment per symbol from the stream, as text (a symbol or headline is never markup)', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 900, height: 700 } });
    await ctx.addInitScript(`localStorage.setItem('sextant.token', ${JSON.stringify(VIEWER)})`);
    const evil = '<img src=x onerror="window.__pwned=1">';
    const event = {
      id: 's1',
      type: 'sentiment.updated',
      v: 1,
      source: 'sentiment/test',
      correlationId: 's1',
      time: Date.UTC(2026, 0, 2),
      payload: {
        symbol: evil,
        score: 0.42,
        asOf: Date.UTC(2026, 0, 2),
        halfLifeMs: 3_600_000,
        items: 1,
        recent: [
          {
            itemId: 'n1',
            time: Date.UTC(2026, 0, 2),
            score: 0.42,
            confidence: 1,
            scorer: 'test',
            headline: '<b>Upgrade</b> & more',
          },
        ],
      },
    };
    // the stream is answered here (the sentiment agent may not run): one event, then it ends and the page reconnects
    await ctx.route('**/api/v1/stream*', (route) =>
      route.fulfill({
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body: `event: sentiment.updated\nid: s1\ndata: ${JSON.stringify(event)}\n\n`,
      }),
    );
    const p = await ctx.newPage();
    await p.goto(base);
    const row = p.locator('#sentiment tbody tr');
    await row.first().waitFor();
    expect(await row.first().locator('td').first().textContent()).toBe(evil);
    expect(await row.first().locator('td').nth(1).textContent()).toBe('0.420');
    expect(await row.first().locator('td').nth(3).textContent()).toBe('<b>Upgrade</b> & more');
    expect(await p.locator('#sentiment img, #sentiment b').count()).toBe(0);
    expect(await p.evaluate<unknown>('window.__pwned')).toBeUndefined();
    expect(await p.locator('#sentiment-empty').isVisible()).toBe(false);
    await p.screenshot({ path: join(shots, 'dashboard-sentiment.png') });
    await ctx.close();
  });

  it('a link with the token in its fragment signs in, keeps the token and clears it from the address bar', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await ctx.newPage();
    const requested: string[] = [];
    p.on('request', (r) => void requested.push(r.url()));
    await p.goto(`${base}/#token=${VIEWER}`);
    await p.locator('#conn[data-state=live]').waitFor();
    expect(await p.locator('#token-form').isVisible()).toBe(false);
    expect(await p.evaluate<string>('location.href')).toBe(`${base}/`);
    expect(await p.evaluate<string | null>("localStorage.getItem('sextant.token')")).toBe(VIEWER);
    // the fragment is never sent: no request the page made carries the token
    expect(requested.filter((u) => u.includes(VIEWER))).toEqual([]);
    await ctx.close();
  });

  it('charts the price of a symbol with markers where fills bought and sold', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addInitScript(`localStorage.setItem('sextant.token', ${JSON.stringify(VIEWER)})`);
    const p = await ctx.newPage();
    await p.goto(base);
    await until(p, "document.getElementById('price-symbol').value === 'SYN'");
    await until(p, "Number(document.getElementById('price-chart').dataset.points) >= 10");
    // the fast SMA cross trades within seconds: a buy and a sell land on the chart
    await until(p, "Number(document.getElementById('price-chart').dataset.buys) >= 1", 20_000);
    await until(p, "Number(document.getElementById('price-chart').dataset.sells) >= 1", 20_000);
    expect(await drawnPixels(p, '#price-chart canvas')).toBeGreaterThan(100);
    // every bar in view is drawn as a candle (or its wick, when they are too many for bodies)
    await until(p, "Number(document.querySelector('#price-chart .uplot').dataset.candles) >= 10");
    expect(await p.locator('#price-empty').isVisible()).toBe(false);
    await p.locator('#price-card').screenshot({ path: join(shots, 'dashboard-price.png') });
    await ctx.close();
  });

  it('draws the strategy indicator lines (SMA2 and SMA5) over the price, named in a legend, as the API has them', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addInitScript(`localStorage.setItem('sextant.token', ${JSON.stringify(VIEWER)})`);
    const p = await ctx.newPage();
    await p.goto(base);
    await until(p, "document.getElementById('price-chart').dataset.lines === 'SMA2|SMA5'");
    // history from the store, then the stream: both lines carry a value on most bars in view
    await until(
      p,
      "(document.getElementById('price-chart').dataset.linePoints || '').split(',').every((n) => Number(n) >= 10)",
    );
    await p.locator('#price-lines [data-line="SMA2"]').waitFor();
    await p.locator('#price-lines [data-line="SMA5"]').waitFor();
    // drawn: the lines' colours (orange, blue) are on the canvas, which candles and markers never use
    const colored = (rgb: [number, number, number]) =>
      p.evaluate<number>(
        `(() => { const c = document.querySelector('#price-chart canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - ${rgb[0]}) < 40 && Math.abs(d[i + 1] - ${rgb[1]}) < 40 && Math.abs(d[i + 2] - ${rgb[2]}) < 40 && d[i + 3] > 200) n++; return n; })()`,
      );
    await eventually(async () => expect(await colored([0xe8, 0x71, 0x0a])).toBeGreaterThan(20), 10_000, 100);
    expect(await colored([0x1a, 0x56, 0xdb])).toBeGreaterThan(20);
    // what the chart draws is what the strategy published: SMA2 at a bar is the mean of its last two closes
    type Ev = { time: number; payload: { close: number; lines: { key: string; value: number | null }[] } };
    const [plot] = await api<Ev[]>('/events?type=strategy.plotted&symbol=SYN&newest=true&limit=1', VIEWER);
    const bars = (await api<Ev[]>(`/events?type=market.bar&symbol=SYN&newest=true&limit=20`, VIEWER)).filter(
      (b) => b.time <= plot!.time,
    );
    expect(bars[0]!.time).toBe(plot!.time);
    const sma2 = plot!.payload.lines.find((l) => l.key === 'fast')!.value!;
    expect(sma2).toBeCloseTo((bars[0]!.payload.close + bars[1]!.payload.close) / 2, 9);
    await p.locator('#price-card').screenshot({ path: join(shots, 'dashboard-price-lines.png') });
    await ctx.close();
  });

  it('lists stay bounded at 25 rows; More loads the next older ones from the store', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addInitScript(`localStorage.setItem('sextant.token', ${JSON.stringify(VIEWER)})`);
    const p = await ctx.newPage();
    // the fast SMA cross signals every few bars: wait until the store holds more than a page
    await eventually(
      async () => expect((await api<unknown[]>('/events?type=signal.generated&limit=30', VIEWER)).length).toBe(30),
      30_000,
      200,
    );
    await p.goto(base);
    await until(p, "document.querySelectorAll('#signals > li').length >= 25");
    await until(p, "!document.getElementById('signals-more').hidden");
    expect(await p.locator('#signals > li').count()).toBe(25);
    await p.click('#signals-more');
    await until(p, "document.querySelectorAll('#signals > li').length > 25");
    await ctx.close();
  });
});
