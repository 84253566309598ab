/** URLs of the page's assets (each carries its content hash). */
export interface PageAssets {
  readonly appJs: string;
  readonly appCss: string;
  readonly chartJs: string;
  readonly chartCss: string;
}

/**
 * The dashboard's HTML: structure only, no data (it is served without a token). The script
 * asks for a token, then fills every panel from `/api/v1` and the event stream.
 */
export function dashboardPage(a: PageAssets): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Sextant</title>
<link rel="stylesheet" href="${a.chartCss}">
<link rel="stylesheet" href="${a.appCss}">
<script src="${a.chartJs}" defer></script>
<script src="${a.appJs}" defer></script>
</head>
<body>
<header class="top">
  <h1>Sextant</h1>
  <span id="conn" class="badge" data-state="connecting">connecting</span>
  <span class="grow"></span>
  <span>Trading <strong id="trading-state" class="badge" data-state="unknown">?</strong></span>
  <button id="halt" class="danger" type="button" disabled>Halt</button>
  <button id="resume" type="button" disabled>Resume</button>
  <button id="token-button" type="button" class="quiet">Token</button>
</header>
<p id="notice" class="error notice" role="alert"></p>

<form id="token-form" class="card" hidden>
  <label for="token-input">API token (viewer to watch, operator to halt and trade; kept in this browser only)</label>
  <div class="row"><input id="token-input" type="password" autocomplete="off" required><button type="submit">Use token</button><button id="token-forget" type="button" class="quiet">Forget</button></div>
  <p id="token-error" class="error" role="alert"></p>
</form>

<main class="grid">
  <section class="card wide" id="equity-card">
    <h2>Equity and drawdown</h2>
    <dl class="stats" id="summary">
      <div><dt>Equity</dt><dd id="s-equity">–</dd></div>
      <div><dt>Cash</dt><dd id="s-cash">–</dd></div>
      <div><dt>Day PnL</dt><dd id="s-day">–</dd></div>
      <div><dt>Drawdown</dt><dd id="s-dd">–</dd></div>
      <div><dt>Max drawdown</dt><dd id="s-maxdd">–</dd></div>
    </dl>
    <div id="equity-chart" class="chart" data-points="0"></div>
    <div id="drawdown-chart" class="chart" data-points="0"></div>
  </section>

  <section class="card wide" id="price-card">
    <h2>Price <select id="price-symbol" aria-label="Symbol"></select></h2>
    <div id="price-chart" class="chart" data-points="0" data-buys="0" data-sells="0"></div>
    <p class="lines" id="price-lines" hidden></p>
    <p class="empty" id="price-empty">No market data yet.</p>
  </section>

  <section class="card"><h2>Positions</h2>
    <div class="scroll"><table id="positions"><thead><tr><th>Symbol</th><th class="n">Qty</th><th class="n">Avg</th><th class="n">Last</th><th class="n">Unrealised</th></tr></thead><tbody></tbody></table></div>
    <p class="empty" id="positions-empty">No positions.</p>
  </section>

  <section class="card"><h2>By strategy</h2>
    <div class="scroll"><table id="books"><thead><tr><th>Strategy</th><th>Holds</th><th class="n">Today</th><th class="n">Since start</th></tr></thead><tbody></tbody></table></div>
    <p class="empty" id="books-empty">No strategy has traded yet.</p>
  </section>

  <section class="card"><h2>Open orders</h2>
    <div class="scroll"><table id="orders"><thead><tr><th>Symbol</th><th>Side</th><th class="n">Qty</th><th>Type</th><th>Status</th><th class="n">Filled</th></tr></thead><tbody></tbody></table></div>
    <p class="empty" id="orders-empty">No open orders.</p>
  </section>

  <section class="card"><h2>Recent fills</h2>
    <div class="scroll"><table id="fills"><thead><tr><th>Time</th><th>Symbol</th><th>Side</th><th class="n">Qty</th><th class="n">Price</th><th></th></tr></thead><tbody></tbody></table></div>
    <p class="empty" id="fills-empty">No fills yet.</p>
    <button type="button" id="fills-more" class="more" hidden>More</button>
  </section>

  <section class="card"><h2>Latest signals</h2>
    <ol id="signals" class="list"></ol>
    <p class="empty" id="signals-empty">No signals yet.</p>
    <button type="button" id="signals-more" class="more" hidden>More</button>
  </section>

  <section class="card"><h2>Sentiment</h2>
    <div class="scroll"><table id="sentiment"><thead><tr><th>Symbol</th><th class="n">Score</th><th>As of</th><th>Latest item</th></tr></thead><tbody></tbody></table></div>
    <p class="empty" id="sentiment-empty">No sentiment yet.</p>
  </section>

  <section class="card"><h2>Agents</h2>
    <div class="scroll"><table id="agents"><thead><tr><th>Agent</th><th>State</th><th>Machine</th><th class="n">Heartbeat</th><th class="n">Handled</th></tr></thead><tbody></tbody></table></div>
  </section>

  <section class="card wide"><h2>Trace</h2>
    <form id="trace-form" class="row"><input id="trace-input" placeholder="correlation id" autocomplete="off" required maxlength="200"><button type="submit">Show chain</button></form>
    <p id="trace-status" class="muted"></p>
    <ol id="trace-timeline" class="timeline"></ol>
  </section>

  <section class="card wide"><h2>Chat</h2>
    <div id="chat-log" class="chat" aria-live="polite"></div>
    <form id="chat-form" class="row"><input id="chat-input" placeholder="status, pnl today, why SYN, buy SYN 10 ..." autocomplete="off" maxlength="4000" required><button type="submit">Send</button></form>
  </section>
</main>

<dialog id="confirm-dialog">
  <form method="dialog">
    <h2 id="confirm-title">Confirm</h2>
    <p id="confirm-text" class="pre"></p>
    <p id="confirm-error" class="error" role="alert"></p>
    <div class="row end"><button id="confirm-cancel" value="cancel" type="button" class="quiet">Cancel</button><button id="confirm-ok" value="ok" type="button" class="danger">Confirm</button></div>
  </form>
</dialog>
</body>
</html>
`;
}
