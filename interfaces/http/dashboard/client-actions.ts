/**
 * The dashboard script, part 3: loading, the live stream's dispatch, Halt/Resume through the
 * command layer's preview and confirm, the trace timeline, the chat panel, the token form, start.
 */
export const clientActions = String.raw`
var STREAM_TYPES = ['portfolio.updated', 'market.bar', 'order.*', 'signal.generated', 'sentiment.*', 'risk.state', 'agent.health'];
var MAX_ROWS = 25;

function notice(text) { $('notice').textContent = text || ''; }
function failed(err) { notice(err && err.message ? err.message : String(err)); }

/** The newest events of a type (needs a store; without one the caller falls back or shows none). */
function newest(type, limit) { return api('GET', '/events?type=' + encodeURIComponent(type) + '&newest=true&limit=' + limit); }

function loadEquity() {
  var live = { xs: P.xs, eq: P.eq, dd: P.dd };
  return newest('portfolio.updated', 1000).then(function (list) {
    P.xs = []; P.eq = []; P.dd = [];
    list.slice().reverse().forEach(function (e) { addPoint(e.time, e.payload); });
    // points the stream delivered while the history loaded
    var end = P.xs.length ? P.xs[P.xs.length - 1] : -Infinity;
    live.xs.forEach(function (x, i) { if (x > end) { P.xs.push(x); P.eq.push(live.eq[i]); P.dd.push(live.dd[i]); } });
    drawCharts();
  }).catch(function () { /* no store: the curve starts now */ }).then(function () {
    return api('GET', '/portfolio').then(function (snap) {
      showSnapshot(snap);
      if (snap.asOf !== null) addPoint(snap.asOf, snap);
    });
  });
}

var ordersTimer = null;
function loadOrders() { return api('GET', '/orders?status=open&limit=50').then(orders); }
function scheduleOrders() { if (ordersTimer) return; ordersTimer = setTimeout(function () { ordersTimer = null; loadOrders().catch(failed); }, 300); }

function loadFills() {
  return newest('order.filled', MAX_ROWS).then(function (list) { P.fills = list; fills(); }).catch(function () { /* no store: fills from now on */ });
}

function loadSignals() {
  return newest('signal.generated', MAX_ROWS).then(function (list) { P.signals = list; signals(); }).catch(function () {
    return api('GET', '/signals').then(function (list) { P.signals = list.map(function (s) { return { payload: s }; }); signals(); });
  });
}

/** Sentiment per symbol from the kept sentiment.updated history, oldest first so the newest wins. */
function loadSentiment() {
  return newest('sentiment.updated', 200).then(function (list) { list.slice().reverse().forEach(addSentiment); }).catch(function () { /* none kept: the stream fills it */ });
}

function loadAgents() { return api('GET', '/agents').then(agents); }
function loadRisk() { return api('GET', '/risk').then(function (r) { tradingState(r.state); }); }

function loadAll() {
  notice('');
  return Promise.all([loadEquity(), loadOrders(), loadFills(), loadSignals(), loadAgents(), loadRisk(), loadSentiment()]).catch(failed);
}

function onEvent(e) {
  var t = e.type;
  if (t === 'portfolio.updated') { showSnapshot(e.payload); addPoint(e.time, e.payload); }
  else if (t === 'market.bar') { if (P.last) addPoint(e.time, P.last); }
  else if (t === 'signal.generated') { P.signals.unshift(e); P.signals.length = Math.min(P.signals.length, MAX_ROWS); signals(); }
  else if (t === 'risk.state') tradingState(e.payload.state);
  else if (t === 'agent.health') agentHealth(e);
  else if (t.slice(0, 10) === 'sentiment.') addSentiment(e);
  else if (t.slice(0, 6) === 'order.') {
    if (t === 'order.filled') { P.fills.unshift(e); P.fills.length = Math.min(P.fills.length, MAX_ROWS); fills(); }
    scheduleOrders();
  }
}

/** Halt or Resume: the command layer answers with a preview; only Confirm sends it to risk. */
function riskAction(name) {
  notice('');
  api('POST', '/commands/' + name, { args: { reason: name + ' from the dashboard' } }).then(function (reply) {
    if (reply.preview) openConfirm(reply.preview);
    else notice(reply.text);
  }).catch(failed);
}

function openConfirm(preview) {
  var dlg = $('confirm-dialog');
  var check = preview.check ? (preview.check.wouldPass ? 'Risk pre-check: would pass.' : 'Risk pre-check: would be refused (' + preview.check.code + ': ' + preview.check.reason + ').') : '';
  var secs = Math.max(0, Math.round((preview.expiresAt - Date.now()) / 1000));
  $('confirm-title').textContent = 'Confirm ' + preview.command + '?';
  $('confirm-text').textContent = [preview.summary, check, 'Preview ' + preview.id + ' expires in about ' + secs + ' s.'].filter(Boolean).join('\n');
  $('confirm-error').textContent = '';
  $('confirm-ok').textContent = 'Confirm ' + preview.command;
  $('confirm-ok').disabled = false;
  $('confirm-ok').onclick = function () {
    $('confirm-ok').disabled = true;
    api('POST', '/commands/confirm/' + encodeURIComponent(preview.id)).then(function (reply) {
      dlg.close();
      if (reply.data && reply.data.state) tradingState(reply.data.state);
      notice('');
    }).catch(function (err) { $('confirm-error').textContent = err.message; });
  };
  $('confirm-cancel').onclick = function () {
    api('POST', '/commands/cancel/' + encodeURIComponent(preview.id)).catch(function () { /* expired or gone: nothing was sent either way */ });
    dlg.close();
  };
  dlg.showModal();
}

function describe(m) {
  var p = m.payload || {};
  var o = p.order || p;
  switch (m.type) {
    case 'market.bar': return p.symbol + ' close ' + num(p.close) + ' (open ' + num(p.open) + ', high ' + num(p.high) + ', low ' + num(p.low) + ')';
    case 'signal.generated': return p.side + ' ' + p.symbol + ' to ' + qty(p.targetQty) + ' @ ' + num(p.price) + (p.reasons && p.reasons.length ? ': ' + p.reasons.join('; ') : '');
    case 'order.intent': return o.side + ' ' + qty(o.qty) + ' ' + o.symbol + ' ' + o.type + ' (' + (o.origin ? o.origin.kind + ' ' + o.origin.id : '') + ')';
    case 'order.approved': return 'approved ' + o.side + ' ' + qty(o.qty) + ' ' + o.symbol + (p.checks ? ' (' + p.checks.join(', ') + ')' : '');
    case 'order.rejected': return p.code + ': ' + p.reason;
    case 'order.submitted': return 'to ' + p.broker + ' as ' + p.brokerOrderId;
    case 'order.filled': return p.side + ' ' + qty(p.qty) + ' ' + p.symbol + ' @ ' + num(p.price) + ' (' + p.status + ', fee ' + num(p.fee) + ')';
    case 'order.cancelled': case 'order.failed': return p.reason;
    case 'portfolio.updated': return 'equity ' + num(p.equity) + ', cash ' + num(p.cash);
    default: return JSON.stringify(p).slice(0, 300);
  }
}

/** A correlation id's chain as a timeline: each message after its cause, with its time offset. */
function showTrace(id) {
  $('trace-input').value = id;
  $('trace-status').textContent = 'Loading ' + id + '…';
  var list = clear($('trace-timeline'));
  $('trace-form').scrollIntoView({ block: 'nearest' });
  api('GET', '/trace/' + encodeURIComponent(id)).then(function (t) {
    var msgs = t.messages || [];
    $('trace-status').textContent = msgs.length ? msgs.length + ' messages in chain ' + id : 'Nothing recorded for ' + id + '.';
    var t0 = msgs.length ? msgs[0].time : 0;
    msgs.forEach(function (m) {
      var dt = m.time - t0;
      list.appendChild(h('li', { 'data-type': m.type }, [
        h('div', { class: 'type', text: m.type }),
        h('div', { class: 'what', text: describe(m) }),
        h('div', { class: 'meta', text: (dt >= 0 ? '+' : '') + (dt / 1000).toFixed(3) + ' s · ' + clock(m.time) + ' · ' + m.source + ' · ' + m.id }),
      ]));
    });
  }).catch(function (err) { $('trace-status').textContent = err.message; });
}

function chatLine(cls, text) {
  var e = h('div', { class: 'msg ' + cls, text: text });
  $('chat-log').appendChild(e);
  $('chat-log').scrollTop = $('chat-log').scrollHeight;
  return e;
}

/** A message to the command layer (POST /chat); a preview gets Confirm/Cancel buttons that answer through the chat. */
function chatSend(text) {
  chatLine('me', text);
  return api('POST', '/chat', { message: text, conversationId: 'dashboard' }).then(function (r) {
    var line = chatLine('bot' + (r.ok ? '' : ' failed'), r.text);
    if (r.preview) {
      var id = r.preview.id;
      var act = function (word) { return function () { row.remove(); chatSend(word + ' ' + id); }; };
      var row = h('div', { class: 'row' }, [h('button', { type: 'button', class: 'danger', text: 'Confirm ' + id, onclick: act('confirm') }), h('button', { type: 'button', class: 'quiet', text: 'Cancel', onclick: act('cancel') })]);
      line.appendChild(row);
    }
  }).catch(function (err) { chatLine('bot failed', err.message); });
}

function askForToken(msg) {
  $('token-form').hidden = false;
  $('token-error').textContent = msg || '';
  setConn('offline', 'no token');
  $('token-input').focus();
}

var started = false;
function start() {
  openStream(STREAM_TYPES, onEvent, loadAll);
  loadAll();
  if (started) return;
  started = true;
  setInterval(function () { if (S.token) loadAgents().catch(function () {}); }, 5000);
}

function boot() {
  S.token = localStorage.getItem(TOKEN_KEY) || '';
  $('token-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    S.token = $('token-input').value.trim();
    localStorage.setItem(TOKEN_KEY, S.token);
    $('token-input').value = '';
    $('token-form').hidden = true;
    start();
  });
  $('token-forget').addEventListener('click', function () { localStorage.removeItem(TOKEN_KEY); S.token = ''; if (S.stream) S.stream.abort(); askForToken(); });
  $('token-button').addEventListener('click', function () { askForToken(); });
  $('halt').addEventListener('click', function () { riskAction('halt'); });
  $('resume').addEventListener('click', function () { riskAction('resume'); });
  $('trace-form').addEventListener('submit', function (ev) { ev.preventDefault(); showTrace($('trace-input').value.trim()); });
  $('chat-form').addEventListener('submit', function (ev) { ev.preventDefault(); var t = $('chat-input').value.trim(); if (!t) return; $('chat-input').value = ''; chatSend(t); });
  if (!S.token) { askForToken(); return; }
  start();
  var m = /^#trace=(.+)$/.exec(location.hash);
  if (m) showTrace(decodeURIComponent(m[1]));
}
`;
