/**
 * The dashboard script, part 2: the panels. Each keeps its rows in `P` and redraws from them;
 * the equity and drawdown charts are uPlot, redrawn at most once a frame.
 */
export const clientPanels = String.raw`
var MAX_POINTS = 5000;
var P = { last: null, xs: [], eq: [], dd: [], charts: null, drawPending: false, fills: [], signals: [], sentiment: {}, agents: {}, agentsAt: 0, trading: null };

function chartOpts(title, label, color, fill, width) {
  return {
    width: width, height: title === 'equity' ? 220 : 110,
    legend: { show: false },
    cursor: { sync: { key: 'sextant' } },
    scales: { x: { time: true } },
    axes: [{ stroke: '#667', grid: { stroke: '#eee' } }, { stroke: '#667', grid: { stroke: '#eee' }, size: 64, values: function (u, v) { return v.map(function (x) { return title === 'equity' ? x.toLocaleString('en-US', { maximumFractionDigits: 0 }) : x.toFixed(1) + '%'; }); } }],
    series: [{}, { label: label, stroke: color, width: 1.5, fill: fill }],
  };
}

function makeCharts() {
  if (P.charts || typeof uPlot === 'undefined') return;
  var ec = $('equity-chart'), dc = $('drawdown-chart');
  var w = Math.max(ec.clientWidth, 200);
  P.charts = {
    eq: new uPlot(chartOpts('equity', 'Equity', '#1a56db', 'rgba(26,86,219,0.08)', w), [P.xs, P.eq], ec),
    dd: new uPlot(chartOpts('drawdown', 'Drawdown', '#b3261e', 'rgba(179,38,30,0.18)', w), [P.xs, P.dd], dc),
  };
  if (typeof ResizeObserver !== 'undefined') new ResizeObserver(function () {
    var width = Math.max(ec.clientWidth, 200);
    P.charts.eq.setSize({ width: width, height: 220 });
    P.charts.dd.setSize({ width: width, height: 110 });
  }).observe(ec);
}

function drawCharts() {
  if (P.drawPending) return;
  P.drawPending = true;
  requestAnimationFrame(function () {
    P.drawPending = false;
    makeCharts();
    if (!P.charts) return;
    P.charts.eq.setData([P.xs, P.eq]);
    P.charts.dd.setData([P.xs, P.dd]);
    $('equity-chart').dataset.points = String(P.xs.length);
    $('drawdown-chart').dataset.points = String(P.xs.length);
  });
}

/** A point of the equity and drawdown curves at an event time in ms (the chart counts seconds). */
function addPoint(time, snap) {
  if (typeof time !== 'number' || !snap || typeof snap.equity !== 'number') return;
  var x = time / 1000, n = P.xs.length;
  if (n > 0 && x < P.xs[n - 1]) return; // older than the chart's end (a seed racing the stream)
  if (n > 0 && x === P.xs[n - 1]) { P.eq[n - 1] = snap.equity; P.dd[n - 1] = -100 * (snap.drawdown || 0); }
  else { P.xs.push(x); P.eq.push(snap.equity); P.dd.push(-100 * (snap.drawdown || 0)); }
  if (P.xs.length > MAX_POINTS) { var cut = P.xs.length - MAX_POINTS; P.xs.splice(0, cut); P.eq.splice(0, cut); P.dd.splice(0, cut); }
  drawCharts();
}

/** The latest portfolio snapshot: the summary line and the positions table. */
function showSnapshot(snap) {
  P.last = snap;
  summary(snap);
  positions(snap.positions || []);
}

function summary(s) {
  $('s-equity').textContent = num(s.equity);
  $('s-cash').textContent = num(s.cash);
  var day = $('s-day'); day.textContent = num(s.dayPnl); day.className = signClass(s.dayPnl).replace('n ', '');
  $('s-dd').textContent = pct(s.drawdown);
  $('s-maxdd').textContent = pct(s.maxDrawdown);
}

function positions(list) {
  var rows = list.filter(function (p) { return p.qty !== 0; });
  var body = clear($('positions').tBodies[0]);
  rows.forEach(function (p) {
    body.appendChild(h('tr', { 'data-symbol': p.symbol }, [h('td', { text: p.symbol }), h('td', { class: 'n', text: qty(p.qty) }), h('td', { class: 'n', text: num(p.avgPrice) }), h('td', { class: 'n', text: num(p.lastPrice) }), h('td', { class: signClass(p.unrealizedPnl), text: num(p.unrealizedPnl) })]));
  });
  $('positions-empty').hidden = rows.length > 0;
}

function orders(list) {
  var body = clear($('orders').tBodies[0]);
  list.forEach(function (o) {
    body.appendChild(h('tr', null, [h('td', { text: o.symbol }), h('td', { text: o.side }), h('td', { class: 'n', text: qty(o.qty) }), h('td', { text: o.type }), h('td', { text: o.status }), h('td', { class: 'n', text: qty(o.filledQty) })]));
  });
  $('orders-empty').hidden = list.length > 0;
}

function traceButton(correlationId) {
  if (!correlationId) return null;
  return h('button', { type: 'button', class: 'link', text: 'trace', title: 'Show the chain ' + correlationId, onclick: function () { showTrace(correlationId); } });
}

/** Recent fills, newest first: each a fill envelope (payload + time + correlation id). */
function fills() {
  var body = clear($('fills').tBodies[0]);
  P.fills.forEach(function (e) {
    var f = e.payload;
    body.appendChild(h('tr', null, [h('td', { text: short(e.time) }), h('td', { text: f.symbol }), h('td', { text: f.side }), h('td', { class: 'n', text: qty(f.qty) }), h('td', { class: 'n', text: num(f.price) }), h('td', null, [traceButton(e.correlationId)])]));
  });
  $('fills-empty').hidden = P.fills.length > 0;
}

function signals() {
  var list = clear($('signals'));
  P.signals.forEach(function (e) {
    var s = e.payload;
    var ind = Object.keys(s.indicators || {}).map(function (k) { return k + '=' + num(s.indicators[k], 4); }).join('  ');
    list.appendChild(h('li', null, [
      h('div', { class: 'row' }, [h('strong', { text: s.side + ' ' + s.symbol }), h('span', { text: '→ ' + qty(s.targetQty) + ' @ ' + num(s.price) }), h('span', { class: 'muted', text: clock(e.time) + ' · ' + s.strategy }), traceButton(e.correlationId)]),
      h('ul', { class: 'reasons' }, (s.reasons || []).map(function (r) { return h('li', { text: r }); })),
      ind ? h('div', { class: 'ind', text: ind }) : null,
    ]));
  });
  $('signals-empty').hidden = P.signals.length > 0;
}

/** A sentiment event (its type starts with "sentiment."): the latest score per symbol. */
function addSentiment(e) {
  var p = e.payload || {};
  if (typeof p.symbol !== 'string' || typeof p.score !== 'number') return;
  var top = Array.isArray(p.recent) && p.recent[0] && typeof p.recent[0].headline === 'string' ? p.recent[0].headline : '';
  P.sentiment[p.symbol] = { score: p.score, time: typeof p.asOf === 'number' ? p.asOf : e.time, headline: top };
  var body = clear($('sentiment').tBodies[0]);
  Object.keys(P.sentiment).sort().forEach(function (sym) {
    var s = P.sentiment[sym];
    body.appendChild(h('tr', { 'data-symbol': sym }, [h('td', { text: sym }), h('td', { class: signClass(s.score), text: num(s.score, 3) }), h('td', { text: clock(s.time) }), h('td', { class: 'headline', text: s.headline, title: s.headline })]));
  });
  $('sentiment-empty').hidden = true;
}

function agents(report) {
  if (report) { P.agents = report; P.agentsAt = Date.now(); }
  var body = clear($('agents').tBodies[0]);
  var since = Date.now() - P.agentsAt;
  Object.keys(P.agents).sort().forEach(function (name) {
    var a = P.agents[name];
    var age = typeof a.heartbeatAgeMs === 'number' ? ((a.heartbeatAgeMs + since) / 1000).toFixed(0) + ' s ago' : 'never';
    var machine = typeof a.machineState === 'string' ? a.machineState : JSON.stringify(a.machineState);
    body.appendChild(h('tr', { 'data-agent': name }, [h('td', { text: name }), h('td', null, [h('span', { class: 'badge', 'data-state': a.state, text: a.state, title: a.lastError || '' })]), h('td', { text: machine === undefined ? '' : String(machine).slice(0, 60) }), h('td', { class: 'n', text: age }), h('td', { class: 'n', text: qty(a.handled) })]));
  });
}

/** A heartbeat on the stream: the agent's state now, its heartbeat just now. */
function agentHealth(e) {
  var hth = e.payload || {};
  if (typeof hth.agent !== 'string') return;
  var since = Date.now() - P.agentsAt;
  var prev = P.agents[hth.agent] || {};
  P.agents[hth.agent] = { state: hth.state, machineState: hth.machineState, handled: hth.handled, restarts: hth.restarts, lastError: hth.lastError, heartbeatAgeMs: -since, ok: prev.ok };
  agents();
}

function tradingState(state) {
  P.trading = state;
  var b = $('trading-state'); b.textContent = state; b.dataset.state = state;
  $('halt').disabled = state === 'HALTED';
  $('resume').disabled = state === 'ACTIVE';
}
`;
