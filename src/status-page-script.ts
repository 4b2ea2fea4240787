/**
 * The script of the mesh page (status-page.ts), run in the browser: it fetches `{statusPath}` every
 * second and draws the MeshStatus. A string of plain functions, inlined in the page (and pinned by its CSP
 * hash), so the page loads nothing from anywhere else.
 */
export const STATUS_PAGE_SCRIPT = `
(function () {
  'use strict';
  var INTERVAL = 1000, TIMEOUT = 5000, WINDOW = 5000, TOKEN_KEY = 'feathers-mesh-token';
  var LABELS = { self: 'this app', admitted: 'healthy', suspect: 'suspect', refused: 'refused', leaving: 'leaving', gone: 'gone' };
  var ORDER = ['self', 'admitted', 'suspect', 'refused', 'leaving', 'gone'];
  var base = location.pathname.replace(/\\/page\\/?$/, '');
  var token = takeToken();
  var samples = [];
  var refreshes = 0;

  function takeToken() {
    var params = new URLSearchParams(location.search), value = params.get('token');
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value); else value = sessionStorage.getItem(TOKEN_KEY);
    } catch (e) { /* storage off: the token lives for this load only */ }
    if (params.has('token')) {
      params.delete('token');
      var rest = params.toString();
      history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
    }
    return value;
  }

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    for (var name in attrs || {}) {
      var value = attrs[name];
      if (value === undefined || value === null) continue;
      if (name === 'text') el.textContent = String(value);
      else if (name === 'class') el.className = value;
      else el.setAttribute(name, String(value));
    }
    (children || []).forEach(function (child) { if (child) el.appendChild(child); });
    return el;
  }

  function sum(record) { var n = 0; for (var k in record || {}) n += Number(record[k]) || 0; return n; }
  function callsOf(proxy) { var n = 0; for (var m in proxy.calls || {}) n += sum(proxy.calls[m]); return n; }
  function fixed(rate) { return rate === undefined ? '\\u2013' : rate < 10 ? rate.toFixed(1) : String(Math.round(rate)); }
  function shortId(id) { return /^[0-9a-f]{8}-/.test(id) ? id.slice(0, 8) : String(id); }
  function count(n, one, many) { return n + ' ' + (n === 1 ? one : many); }
  function uptime(s) {
    return s < 60 ? s + ' s' : s < 3600 ? Math.floor(s / 60) + ' min ' + (s % 60) + ' s' : Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }

  /** Calls per second over the last few seconds, from the counters of successive refreshes. */
  function rates(status) {
    var now = performance.now();
    var sample = { t: now, uuid: status.app.uuid, total: sum(status.counters.calls), by: Object.create(null) };
    status.proxies.forEach(function (p) { sample.by[p.path] = callsOf(p); });
    if (samples.length && samples[0].uuid !== sample.uuid) samples = [];
    samples.push(sample);
    while (samples.length > 2 && now - samples[1].t >= WINDOW) samples.shift();
    var first = samples[0], dt = (now - first.t) / 1000;
    function rate(a, b) { return dt > 0 && a !== undefined && b >= a ? (b - a) / dt : undefined; }
    var out = { total: rate(first.total, sample.total), by: Object.create(null) };
    for (var path in sample.by) out.by[path] = rate(first.by[path], sample.by[path]);
    return out;
  }

  function appBox(app, replicaOf) {
    var detail;
    if (app.state === 'self') detail = 'v' + app.version + ' \\u00b7 up ' + uptime(app.uptime);
    else if (app.state === 'admitted' || app.state === 'suspect') {
      detail = 'heard ' + app.lastHeard + ' ms ago' + (app.rtt !== undefined ? ' \\u00b7 rtt ' + (app.rtt < 10 ? app.rtt.toFixed(1) : Math.round(app.rtt)) + ' ms' : '');
    } else detail = app.reason || '';
    var items = app.proxies ? app.proxies.map(function (p) {
      return h('li', { class: 'proxy', 'data-path': p.path, text: 'proxy ' + p.path + ' \\u2192 ' + p.key });
    }) : (app.services || []).map(function (path) {
      var proxy = replicaOf[app.uuid + ' ' + path];
      return h('li', { class: proxy ? 'replica' : '', 'data-path': path, title: proxy ? 'a replica of ' + proxy : null, text: path });
    });
    return h('div', { class: 'app', 'data-uuid': app.uuid, 'data-key': app.key, 'data-state': app.state, title: app.uuid }, [
      h('span', { class: 'state', text: LABELS[app.state] || app.state }),
      h('div', { class: 'id', text: shortId(app.uuid) }),
      detail ? h('div', { class: 'detail', text: detail }) : null,
      items.length ? h('ul', {}, items) : null
    ]);
  }

  function serviceRow(proxy, rate) {
    var replicas = proxy.replicas || [];
    var health = replicas.length === 0 ? 'down' : replicas.some(function (r) { return r.state !== 'admitted'; }) ? 'warn' : 'ok';
    var dots = replicas.map(function (r) { return h('span', { class: 'dot', 'data-state': r.state, title: r.uuid + ' (' + r.state + ')' }); });
    var p99 = proxy.latency && proxy.latency.p99;
    var above = proxy.latency && proxy.latency.above;
    return h('tr', { class: 'service', 'data-path': proxy.path, 'data-health': health }, [
      h('td', {}, [h('span', { class: 'dot' }), h('span', { text: proxy.path + (proxy.remotePath !== proxy.path ? ' (' + proxy.remotePath + ')' : '') })]),
      h('td', { class: 'replicas', 'data-count': replicas.length }, dots.concat([h('span', { text: ' ' + replicas.length })])),
      h('td', { class: 'rate', 'data-rate': rate === undefined ? '' : rate.toFixed(3), text: fixed(rate) + ' /s' }),
      h('td', { class: 'p99', 'data-p99': p99 === undefined ? '' : p99, text: p99 !== undefined ? p99 + ' ms' : above !== undefined ? '> ' + above / 1000 + ' s' : '\\u2013' }),
      h('td', { text: proxy.inFlight ? proxy.inFlight + ' in flight' : '' })
    ]);
  }

  function render(status, rate) {
    // Without a prototype: keys and paths come from peers, and may be named constructor or __proto__.
    var self = status.app, groups = Object.create(null), replicaOf = Object.create(null);
    function group(key) { return groups[key] || (groups[key] = { key: key, apps: [], proxies: [] }); }
    group(self.key).apps.push({ uuid: self.uuid, key: self.key, state: 'self', version: self.package.version, uptime: self.uptime, proxies: status.proxies });
    status.peers.forEach(function (peer) { group(peer.key).apps.push(peer); });
    status.proxies.forEach(function (proxy) {
      group(proxy.key).proxies.push(proxy);
      (proxy.replicas || []).forEach(function (r) { replicaOf[r.uuid + ' ' + proxy.remotePath] = proxy.path; });
    });
    var keys = Object.keys(groups).sort(function (a, b) { return a === self.key ? -1 : b === self.key ? 1 : a < b ? -1 : a > b ? 1 : 0; });
    var main = document.getElementById('mesh');
    while (main.firstChild) main.removeChild(main.firstChild);
    keys.forEach(function (key) {
      var g = groups[key];
      g.apps.sort(function (a, b) { return ORDER.indexOf(a.state) - ORDER.indexOf(b.state) || (a.uuid < b.uuid ? -1 : 1); });
      var states = ORDER.map(function (state) {
        var n = g.apps.filter(function (a) { return a.state === state; }).length;
        return n === 0 ? '' : state === 'self' ? LABELS.self : n + ' ' + LABELS[state];
      }).filter(Boolean).join(' \\u00b7 ');
      var table = g.proxies.length ? h('table', {}, [
        h('tr', {}, ['service', 'replicas', 'calls/s', 'p99', ''].map(function (t) { return h('th', { text: t }); }))
      ].concat(g.proxies.map(function (p) { return serviceRow(p, rate.by[p.path]); }))) : null;
      main.appendChild(h('section', { class: 'group', 'data-key': key }, [
        h('h2', { text: key }, [h('small', { text: states })]),
        table,
        h('div', { class: 'apps' }, g.apps.map(function (app) { return appBox(app, replicaOf); }))
      ]));
    });
    var apps = status.peers.filter(function (p) { return p.state === 'admitted' || p.state === 'suspect'; }).length + 1;
    var summary = document.getElementById('summary');
    while (summary.firstChild) summary.removeChild(summary.firstChild);
    summary.appendChild(document.createTextNode(count(apps, 'app', 'apps') + ' up in ' + count(keys.length, 'key', 'keys') + ' \\u00b7 '));
    summary.appendChild(h('span', { id: 'rate', 'data-rate': rate.total === undefined ? '' : rate.total.toFixed(3), text: fixed(rate.total) + ' calls/s' }));
    summary.appendChild(document.createTextNode(' \\u00b7 ' + count(status.counters.retries, 'retry', 'retries') + ' \\u00b7 ' + sum(status.counters.dropped) + ' dropped'));
    document.getElementById('self').textContent = self.key + ' ' + shortId(self.uuid);
    document.title = self.key + ' \\u00b7 feathers-mesh';
  }

  function say(text, error) {
    var el = document.getElementById('status');
    el.textContent = text;
    el.className = error ? 'error' : '';
    document.body.className = error ? 'stale' : '';
  }

  function refresh() {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, TIMEOUT);
    var headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    fetch(base, { headers: headers, cache: 'no-store', credentials: 'same-origin', signal: controller.signal })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          if (res.ok) return body;
          var hint = res.status === 401 || res.status === 403 ? ': open this page with ?token=<access token>' : '';
          throw new Error((body.message || res.statusText || 'HTTP error') + ' (' + res.status + ')' + hint);
        });
      })
      .then(function (status) {
        render(status, rates(status));
        say('Live \\u00b7 updated ' + new Date().toLocaleTimeString(), false);
      })
      .catch(function (error) { say((error && error.name === 'AbortError' ? 'No answer within ' + TIMEOUT + ' ms' : String(error && error.message || error)) + ' \\u00b7 retrying', true); })
      .then(function () {
        clearTimeout(timer);
        document.getElementById('mesh').setAttribute('data-refreshes', String(++refreshes));
        setTimeout(refresh, INTERVAL);
      });
  }
  refresh();
})();
`
