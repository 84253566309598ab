/**
 * The dashboard script, part 1 (plain browser JavaScript, ES2020, no build step): helpers, the
 * API client and the event-stream reader. Every bit of data goes into the page as text
 * (`textContent`), never as HTML.
 *
 * The stream is read with `fetch()` and a stream reader rather than `EventSource`, which cannot
 * send the `Authorization` header: a token in a URL would end up in access logs.
 */
export const clientCore = String.raw`
var TOKEN_KEY = 'sextant.token';
var S = { token: '', stream: null, retryMs: 1000 };

function $(id) { return document.getElementById(id); }

/** An element with text content (never HTML), attributes and children. */
function h(tag, props, children) {
  var e = document.createElement(tag);
  if (props) for (var k in props) {
    var v = props[k];
    if (v === undefined || v === null) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k === 'class') e.className = v;
    else if (k === 'title') e.title = String(v);
    else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
    else if (k.slice(0, 5) === 'data-') e.setAttribute(k, String(v));
    else e[k] = v;
  }
  (children || []).forEach(function (c) { if (c !== null && c !== undefined) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
  return e;
}

function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }

function num(x, digits) {
  if (typeof x !== 'number' || !isFinite(x)) return '–';
  var d = digits === undefined ? 2 : digits;
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
function qty(x) { return typeof x === 'number' ? x.toLocaleString('en-US', { maximumFractionDigits: 6 }) : '–'; }
function pct(x) { return typeof x === 'number' && isFinite(x) ? (100 * x).toFixed(2) + '%' : '–'; }
function signClass(x) { return typeof x === 'number' && x > 0 ? 'n pos' : typeof x === 'number' && x < 0 ? 'n neg' : 'n'; }
function clock(t) {
  if (typeof t !== 'number') return '–';
  var d = new Date(t);
  return isNaN(d.getTime()) ? '–' : d.toISOString().replace('T', ' ').slice(0, 19);
}
/** Month, day and time (UTC): short enough for a table column on a phone. */
function short(t) { var c = clock(t); return c === '–' ? c : c.slice(5); }

/** An API error with the server's code and message. */
function ApiFailure(status, code, message, details) { this.status = status; this.code = code; this.message = message; this.details = details; }

/** Calls /api/v1 with the token; a 401 asks for a (new) token. */
function api(method, path, body) {
  var headers = { authorization: 'Bearer ' + S.token };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch('/api/v1' + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) }).then(function (res) {
    return res.json().catch(function () { return null; }).then(function (json) {
      if (res.ok) return json;
      var err = (json && json.error) || { code: 'http_' + res.status, message: 'HTTP ' + res.status };
      if (res.status === 401) askForToken('That token was not accepted: ' + err.message);
      throw new ApiFailure(res.status, err.code, err.message, err.details);
    });
  });
}

function setConn(state, text) { var c = $('conn'); c.dataset.state = state; c.textContent = text || state; }

/**
 * Reads the live event stream (server-sent events over fetch) and hands each envelope to
 * onEvent; reconnects with backoff and calls onReconnect to reload what was missed.
 */
function openStream(types, onEvent, onReconnect) {
  if (S.stream) S.stream.abort();
  var ctrl = new AbortController();
  S.stream = ctrl;
  setConn('connecting');
  fetch('/api/v1/stream?type=' + encodeURIComponent(types.join(',')), { headers: { authorization: 'Bearer ' + S.token, accept: 'text/event-stream' }, signal: ctrl.signal }).then(function (res) {
    if (res.status === 401) { askForToken('That token was not accepted.'); throw new Error('unauthorized'); }
    if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
    setConn('live');
    S.retryMs = 1000;
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buf = '';
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) throw new Error('the stream ended');
        buf += decoder.decode(r.value, { stream: true }).replace(/\r\n?/g, '\n');
        var at;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          var block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          var data = [];
          var event = 'message';
          block.split('\n').forEach(function (line) {
            if (line.slice(0, 5) === 'data:') data.push(line.slice(5).replace(/^ /, ''));
            else if (line.slice(0, 6) === 'event:') event = line.slice(6).trim();
          });
          if (data.length === 0) continue;
          if (event === 'error') throw new Error('the server closed the stream: ' + data.join('\n'));
          try { onEvent(JSON.parse(data.join('\n'))); } catch (e) { console.error('sextant: bad stream event', e); }
        }
        return pump();
      });
    }
    return pump();
  }).catch(function (err) {
    if (ctrl.signal.aborted) return;
    setConn('offline', 'offline (' + (err && err.message ? err.message : 'error') + '), retrying');
    var wait = S.retryMs;
    S.retryMs = Math.min(S.retryMs * 2, 15000);
    setTimeout(function () {
      if (S.stream !== ctrl || !S.token) return;
      openStream(types, onEvent, onReconnect);
      onReconnect();
    }, wait);
  });
}
`;
