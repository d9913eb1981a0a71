// The recommender's console: plain JavaScript over the service's JSON routes (gRPC transcoding).
// Every datum comes from an RPC; the ops token lives in sessionStorage and travels as a bearer header.
'use strict';

const TOKEN_KEY = 'recommender.opsToken';
const view = document.getElementById('view');
const message = document.getElementById('message');
let refreshTimer = null;
let renderSerial = 0;

// ---------- DOM and formatting helpers ----------

/** Builds an element: h('td', {class: 'num', title: '…'}, child, …); strings become text nodes (never HTML). */
function h(tag, attrs, ...children) {
  const ns = ['svg', 'rect', 'line', 'text', 'g', 'polyline', 'circle', 'title'].includes(tag) ? 'http://www.w3.org/2000/svg' : null;
  const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const fmt = {
  int: v => Number(v ?? 0).toLocaleString('en-US'),
  num: (v, d = 4) => (v === null || v === undefined || Number.isNaN(Number(v))) ? '—' : Number(v).toFixed(d),
  secs: s => { s = Number(s); if (!isFinite(s) || s < 0) return '—'; if (s < 90) return s.toFixed(1) + ' s'; if (s < 5400) return (s / 60).toFixed(1) + ' min'; return (s / 3600).toFixed(1) + ' h'; },
  age: iso => iso ? fmt.secs((Date.now() - Date.parse(iso)) / 1000) : '—',
  time: iso => iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '—',
  bytes: b => { b = Number(b); return b >= 1 << 30 ? (b / (1 << 30)).toFixed(2) + ' GiB' : b >= 1 << 20 ? (b / (1 << 20)).toFixed(1) + ' MiB' : (b / 1024).toFixed(1) + ' KiB'; },
  pct: v => (100 * v).toFixed(1) + ' %',
  day: n => new Date(Number(n) * 86400000).toISOString().slice(0, 10),
};

/** A figure with its one-line definition on hover. */
function card(label, value, definition) {
  return h('div', { class: 'card' }, h('div', { class: 'label', title: definition }, label), h('div', { class: 'value', 'data-figure': label }, value));
}

function table(headers, rows, attrs) {
  return h('table', attrs || {},
    h('thead', {}, h('tr', {}, headers.map(x => typeof x === 'string' ? h('th', {}, x) : h('th', { title: x.title, class: x.num ? 'num' : null }, x.label)))),
    h('tbody', {}, rows));
}

function trackLink(id, name) {
  return h('a', { href: `#/tracks/${id}` }, name || `track ${id}`);
}

// ---------- API ----------

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

function showMessage(text, kind) {
  message.textContent = text;
  message.className = kind || '';
  message.hidden = !text;
}

class ApiError extends Error {
  constructor(status, text) { super(text); this.status = status; }
}

/** Calls a JSON route with the bearer token; a refused token opens the token form and says so. */
async function api(path, options) {
  const headers = { 'accept': 'application/json' };
  if (token()) headers.authorization = `Bearer ${token()}`;
  if (options && options.body) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method: (options && options.method) || 'GET', headers, body: options && options.body ? JSON.stringify(options.body) : undefined });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : {}; } catch { body = { message: text }; }
  if (response.status === 401) {
    openTokenPanel();
    throw new ApiError(401, `401 Unauthorized: ${token() ? 'the ops token was refused' : 'this needs the ops token'}. Enter it above (Ops:Token of the service).`);
  }
  if (!response.ok) {
    throw new ApiError(response.status, `${response.status}: ${(body && (body.message || body.detail)) || text || response.statusText}`);
  }
  return body;
}

// ---------- token panel ----------

const tokenPanel = document.getElementById('token-panel');
const tokenButton = document.getElementById('token-button');
function openTokenPanel() { tokenPanel.hidden = false; document.getElementById('token-input').focus(); }
function updateTokenButton() { tokenButton.textContent = token() ? 'Token ✓' : 'Token'; tokenButton.classList.toggle('ok', !!token()); }
tokenButton.addEventListener('click', () => { tokenPanel.hidden = !tokenPanel.hidden; });
document.getElementById('token-form').addEventListener('submit', e => {
  e.preventDefault();
  const value = document.getElementById('token-input').value.trim();
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  document.getElementById('token-input').value = '';
  tokenPanel.hidden = true;
  updateTokenButton();
  showMessage('');
  route();
});
document.getElementById('token-forget').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); updateTokenButton(); });
document.getElementById('search').addEventListener('submit', e => {
  e.preventDefault();
  const q = document.getElementById('search-query').value.trim();
  if (q) location.hash = `#/tracks?q=${encodeURIComponent(q)}`;
});

// ---------- charts (SVG drawn here; no library) ----------

/** Horizontal bars: [{label, value, cls, title}]. */
function barChart(items, { width = 520, valueFormat = v => fmt.num(v), labelWidth = 150 } = {}) {
  const rowH = 20, max = Math.max(1e-12, ...items.map(i => Math.abs(i.value)));
  const svg = h('svg', { width, height: items.length * rowH + 6, role: 'img' });
  items.forEach((it, r) => {
    const w = Math.max(1, (width - labelWidth - 80) * Math.abs(it.value) / max);
    const g = h('g', {}, h('title', {}, it.title || `${it.label}: ${valueFormat(it.value)}`));
    const chars = Math.floor(labelWidth / 6.4);
    g.append(h('text', { x: labelWidth - 6, y: r * rowH + 14, 'text-anchor': 'end' }, it.label.length > chars ? it.label.slice(0, chars - 1) + '…' : it.label));
    g.append(h('rect', { x: labelWidth, y: r * rowH + 4, width: w, height: rowH - 8, class: 'bar ' + (it.cls || '') }));
    g.append(h('text', { x: labelWidth + w + 4, y: r * rowH + 14 }, valueFormat(it.value)));
    svg.append(g);
  });
  return svg;
}

/** Vertical bars over time: [{label, value, title, cls}], with the first and last labels under the axis. */
function columnChart(items, { width = 720, height = 140, valueFormat = v => fmt.num(v), max } = {}) {
  const top = Math.max(1e-12, max ?? Math.max(...items.map(i => i.value), 0));
  const left = 46, bottom = 20, w = (width - left) / Math.max(1, items.length);
  const svg = h('svg', { width, height: height + bottom, role: 'img' });
  svg.append(h('line', { x1: left, y1: height, x2: width, y2: height, class: 'axis' }));
  svg.append(h('text', { x: left - 4, y: 10, 'text-anchor': 'end' }, valueFormat(top)));
  svg.append(h('text', { x: left - 4, y: height, 'text-anchor': 'end' }, valueFormat(0)));
  items.forEach((it, i) => {
    const bh = height * Math.max(0, it.value) / top;
    svg.append(h('rect', { x: left + i * w + 0.5, y: height - bh, width: Math.max(1, w - 1), height: bh, class: 'bar ' + (it.cls || '') }, h('title', {}, it.title || `${it.label}: ${valueFormat(it.value)}`)));
  });
  if (items.length) {
    svg.append(h('text', { x: left, y: height + 14 }, items[0].label));
    svg.append(h('text', { x: width, y: height + 14, 'text-anchor': 'end' }, items[items.length - 1].label));
  }
  return svg;
}

// ---------- routing ----------

const routes = [
  [/^#?\/?$/, overview, 'overview'],
  [/^#\/runs$/, runs, 'runs'],
  [/^#\/data$/, data, 'data'],
  [/^#\/users\/?$/, usersHome, 'users'],
  [/^#\/users\/(\d+)$/, user, 'users'],
  [/^#\/tracks\/?(?:\?q=(.*))?$/, tracksHome, 'tracks'],
  [/^#\/tracks\/(\d+)$/, track, 'tracks'],
];

async function route() {
  clearInterval(refreshTimer);
  const hash = location.hash || '#/';
  const match = routes.map(([re, fn, name]) => [hash.match(re), fn, name]).find(([m]) => m);
  document.querySelectorAll('nav a').forEach(a => a.classList.toggle('active', !!match && a.dataset.route === match[2]));
  if (!match) { view.replaceChildren(h('p', {}, `No page at ${hash}.`)); return; }
  const serial = ++renderSerial;
  if (!token() && match[2] !== 'runs') {
    // Nothing to ask without the token (every datum here is behind it): the form is open above.
    openTokenPanel();
    view.replaceChildren(h('p', { class: 'muted', id: 'needs-token' }, 'Enter the ops token above to see this page (Ops:Token of the service; the development one is in config/appsettings.Development.json).'));
    return;
  }
  const loading = setTimeout(() => { if (serial === renderSerial) view.replaceChildren(h('p', { class: 'muted' }, 'Loading… (the first look at a user or a track after a new snapshot loads its models: up to half a minute at full size)')); }, 400);
  try {
    const node = await match[1](...match[0].slice(1));
    clearTimeout(loading);
    if (serial !== renderSerial) return; // a newer navigation won
    view.replaceChildren(node);
  } catch (e) {
    clearTimeout(loading);
    if (serial !== renderSerial) return;
    view.replaceChildren(h('p', { class: 'muted' }, 'Nothing to show: see the message above.'));
    showMessage(e.message);
  }
}

window.addEventListener('hashchange', () => { showMessage(''); route(); });

// ---------- overview ----------

async function overview() {
  const [status, reports, online] = await Promise.all([api('/v1/ops/status'), api('/v1/ops/reports'), api('/v1/ops/online?hours=72')]);
  const manifest = reports.manifestJson ? JSON.parse(reports.manifestJson) : {};
  const metrics = status.metricsJson ? JSON.parse(status.metricsJson) : {};
  const served = status.servedList || manifest.served_list || '';
  const root = h('div', {});
  root.append(h('h1', {}, 'Overview'));
  root.append(h('div', { class: 'cards' },
    card('Snapshot', status.snapshotId || '—', 'The folder of trained tables being served (its manifest lists every file with a checksum).'),
    card('Age', fmt.age(status.snapshotTime), 'Time since the serving snapshot was trained.'),
    card('Users', fmt.int(manifest.users), 'Users in the snapshot: every user with at least one listen in the data it was trained on.'),
    card('Tracks', fmt.int(manifest.items), 'Tracks in the catalog of the snapshot.'),
    card('Events', fmt.int(manifest.events), 'Listening events the snapshot was trained on (after the data checks).'),
    card('Served list', served || '—', 'The list recommendations.parquet holds: the one with the best NDCG@10 on validation among the lists below.'),
  ));

  root.append(h('h2', {}, 'Online'));
  const listens = online.hours.reduce((s, x) => s + Number(x.hits) + Number(x.misses) + Number(x.unserved), 0);
  const hits = online.hours.reduce((s, x) => s + Number(x.hits), 0);
  root.append(h('div', { class: 'cards' },
    card('Listens since snapshot', fmt.int(online.listensSinceSnapshot), `Listens logged through LogListen since the snapshot's hour (${online.fleet ? 'the fleet, counted in Redis' : 'this replica'}).`),
    card('Listens / min', fmt.num(online.listensPerMinute, 1), 'Listens logged per minute over the last five whole minutes (this replica).'),
    card('Hit rate (72 h)', listens ? fmt.pct(hits / listens) : '—', 'Hits / listens: a hit is a listen of a track that was in the last list served to that user (by this replica; fleet-wide counts come through Redis).'),
    card('GetRecommendations / s', fmt.num(online.recommendationsPerSecond, 2), 'Calls per second over the last minute on this replica (same measurement as recommender_rpc_duration on /metrics).'),
    card('p99 latency', online.recommendationsP99Ms > 0 ? `≤ ${online.recommendationsP99Ms} ms` : '—', 'The 99th percentile of GetRecommendations handling time over the last minute: the upper bound of the /metrics histogram bucket holding it.'),
    card('Lists remembered', `${fmt.int(online.rememberedUsers)} (${fmt.bytes(online.rememberedBytes)})`, 'Users whose last served list is kept to count hits (its first 16 tracks), and the table holding them: 1,048,576 slots of 80 B, allocated once.'),
  ));
  root.append(h('h2', { title: 'Per hour, oldest first: the bar is hits / listens of that hour; hover for the counts.' }, 'Hit rate per hour (last 72 hours)'));
  root.append(h('div', { class: 'panel' }, columnChart(online.hours.map(x => {
    const n = Number(x.hits) + Number(x.misses) + Number(x.unserved);
    return { label: fmt.time(x.hour).slice(5, 16), value: n ? Number(x.hits) / n : 0, cls: n ? '' : 'faint', title: `${fmt.time(x.hour)}: ${x.hits} hits, ${x.misses} misses, ${x.unserved} unserved` };
  }), { width: 1000, valueFormat: v => fmt.pct(v), max: 1 })));

  const validation = manifest.validation_ndcg_at_10 || {};
  const names = Object.keys(validation).sort((a, b) => validation[b] - validation[a]);
  const others = names.filter(n => n !== served);
  const best = others.length ? Math.max(...others.map(n => validation[n])) : 0;
  const leader = others.find(n => validation[n] === best);
  // The gate serves a more complex list only when it leads the simpler ones by more than one standard error, so the served list need not be the top one.
  const servedNote = validation[served] >= best ? `+${fmt.num(validation[served] - best)} margin` : `${fmt.num(validation[served] - best)}: ${leader} leads by under one standard error`;
  root.append(h('h2', { title: 'NDCG@10 of every list on the validation window (models fitted before it). The served list beats every simpler list by more than one standard error; a more complex list ahead of it by less is not served. The margin is the served list\'s lead over the best other list.' }, 'Why this list is served (validation NDCG@10)'));
  root.append(h('div', { class: 'row' },
    h('div', { class: 'panel' }, barChart(names.map(n => ({ label: n, value: validation[n], cls: n === served ? 'served' : '' })))),
    table([{ label: 'list' }, { label: 'NDCG@10', num: true, title: 'Normalised discounted cumulative gain of the top 10 against the tracks first heard in the window.' }, { label: 'vs served', num: true }],
      names.map(n => h('tr', { class: n === served ? 'served' : null }, h('td', {}, n), h('td', { class: 'num' }, fmt.num(validation[n])), h('td', { class: 'num' }, n === served ? servedNote : fmt.num(validation[n] - validation[served]))))),
  ));

  const test = metrics.test;
  if (test && test.warm) {
    root.append(h('h2', { title: 'The held-out test period after the split: warm users (with listens before it) and cold users (without).' }, `Test period (${fmt.int(test.warm_users)} warm users, ${fmt.int(test.cold_users)} cold)`));
    const lists = Object.keys(test.warm);
    const at10 = (side, n) => (test[side] && test[side][n] || []).find(m => m.k === 10) || {};
    root.append(table(
      [{ label: 'list' }, { label: 'warm NDCG@10', num: true, title: 'NDCG@10 on warm users of the test period.' }, { label: 'warm recall@10', num: true, title: 'Share of the tracks a warm user first heard in the test period found in the top 10.' },
        { label: 'coverage', num: true, title: 'Share of the catalog recommended to at least one warm user.' }, { label: 'novelty', num: true, title: 'Mean self-information (−log2 popularity) of the recommended tracks: higher is less mainstream.' },
        { label: 'cold NDCG@10', num: true, title: 'NDCG@10 on cold users (they get the popular list, or a fold-in when they have online listens).' }],
      lists.map(n => h('tr', { class: n === 'served' ? 'served' : null }, h('td', {}, n), h('td', { class: 'num' }, fmt.num(at10('warm', n).ndcg)), h('td', { class: 'num' }, fmt.num(at10('warm', n).recall)),
        h('td', { class: 'num' }, fmt.num(at10('warm', n).coverage, 3)), h('td', { class: 'num' }, fmt.num(at10('warm', n).novelty, 2)), h('td', { class: 'num' }, fmt.num(at10('cold', n).ndcg)))),
    ));
  } else {
    root.append(h('p', { class: 'muted' }, metrics.reason ? `No test period: ${metrics.reason}.` : 'No test period in this snapshot.'));
  }
  refreshTimer = setInterval(() => { if ((location.hash || '#/') === '#/' || location.hash === '') route(); }, 10000);
  return root;
}

// ---------- runs ----------

async function runs() {
  const root = h('div', {});
  const result = h('span', { id: 'retrain-result', class: 'hint' });
  root.append(h('h1', {}, 'Runs ', h('button', {
    id: 'retrain-button', type: 'button', title: 'Calls RetrainNow: one run at a time; the service keeps serving the current snapshot until the new one is whole.', onclick: async () => {
      result.textContent = 'asking…';
      try {
        const reply = await api('/v1/ops/retrain', { method: 'POST', body: {} });
        result.textContent = `started ${reply.runId}`;
        setTimeout(route, 1000);
      } catch (e) { result.textContent = ''; showMessage(e.message); }
    },
  }, 'Retrain now'), result));
  let list, manifest;
  if (!token()) {
    root.append(h('p', { class: 'muted', id: 'needs-token' }, 'The runs need the ops token (the form above).'));
    return root;
  }
  try {
    const [runsReply, reports] = await Promise.all([api('/v1/ops/runs?limit=20'), api('/v1/ops/reports')]);
    list = runsReply;
    manifest = reports.manifestJson ? JSON.parse(reports.manifestJson) : {};
  } catch (e) {
    // The button stays: pressing it says what is missing (a token, most often).
    showMessage(e.message);
    root.append(h('p', { class: 'muted' }, 'The runs need the ops token.'));
    return root;
  }
  const progress = list.progress;
  if (progress && progress.runId) {
    const done = Number(progress.total) > 0 ? Number(progress.done) / Number(progress.total) : 0;
    root.append(h('div', { class: 'panel', id: 'progress' },
      h('div', {}, h('b', {}, progress.runId), ' — stage ', h('b', {}, progress.stage), ` (${progress.stagesDone} of about ${progress.stagesExpected} stages done)`),
      h('svg', { class: 'progress', width: 320, height: 10 }, h('title', {}, Number(progress.total) > 0 ? `${fmt.int(progress.done)} of ${fmt.int(progress.total)}` : 'this stage does not count its units'),
        h('rect', { x: 0, y: 0, width: 320, height: 10, class: 'track' }), h('rect', { x: 0, y: 0, width: (320 * done).toFixed(1), height: 10, class: 'bar' })),
      h('div', { class: 'muted' }, `${fmt.secs(progress.stageSeconds)} in this stage; about ${fmt.secs(progress.secondsLeft)} left in the run (the rest of this stage at its rate, then the later stages as long as they took for the serving snapshot)`)));
  }
  const rows = (list.runs || []).map(r => h('tr', {},
    h('td', {}, r.runId), h('td', {}, r.trigger), h('td', {}, h('span', { class: `badge ${r.state}` }, r.state)),
    h('td', {}, fmt.time(r.started)), h('td', {}, r.finished ? fmt.time(r.finished) : '—'), h('td', { class: 'num' }, fmt.secs(r.seconds)),
    h('td', {}, r.snapshotId || ''), h('td', {}, r.error || '')));
  root.append(h('h2', { title: 'The latest retrains of this replica since it started (nightly cron or RetrainNow), newest first.' }, 'Latest runs'));
  root.append(rows.length ? table(['run', 'trigger', 'state', 'started', 'finished', { label: 'duration', num: true }, 'snapshot produced', 'error'], rows, { id: 'runs-table' }) : h('p', { class: 'muted' }, 'No retrain since this replica started.'));
  const timings = manifest.timings || [];
  root.append(h('h2', { title: 'Wall time of each stage of the run that produced the serving snapshot, in order; hover for the peak memory.' }, `Stage timings of ${manifest.snapshot_id || 'the serving snapshot'} (${fmt.secs(timings.reduce((s, t) => s + t.seconds, 0))} in all)`));
  root.append(h('div', { class: 'panel' }, barChart(timings.map(t => ({ label: t.stage, value: t.seconds, title: `${t.stage}: ${fmt.secs(t.seconds)}, peak working set ${fmt.int(t.peak_working_set_mb)} MB` })), { width: 900, labelWidth: 360, valueFormat: fmt.secs })));
  refreshTimer = setInterval(() => { if (location.hash === '#/runs') route(); }, 5000);
  return root;
}

// ---------- data ----------

function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
    else out.push([key, v]);
  }
  return out;
}

async function data() {
  const reports = await api('/v1/ops/reports');
  const quality = reports.qualityJson ? JSON.parse(reports.qualityJson) : {};
  const eda = reports.edaJson ? JSON.parse(reports.edaJson) : {};
  const root = h('div', {});
  root.append(h('h1', {}, `Data of ${reports.snapshotId}`));
  root.append(h('h2', { title: 'The checks run on the three input files before training (quality.json).' }, 'Data quality'));
  root.append(table(['check', { label: 'value', num: true }], flatten(quality, '', []).map(([k, v]) => h('tr', {},
    h('td', {}, k), h('td', { class: 'num' }, Array.isArray(v) ? `${v.length} (${v.slice(0, 12).join(', ')}${v.length > 12 ? ', …' : ''})` : /_day$/.test(k) ? fmt.day(v) : typeof v === 'number' ? fmt.int(v) : String(v)))), { id: 'quality-table' }));
  if (eda.monthly) {
    root.append(h('h2', { title: 'Listening events and distinct listeners per calendar month.' }, 'Listens and listeners per month'));
    root.append(h('div', { class: 'row' },
      h('div', { class: 'panel' }, h('div', { class: 'muted' }, 'events'), columnChart(eda.monthly.map(m => ({ label: m.month, value: m.events, title: `${m.month}: ${fmt.int(m.events)} events` })), { width: 460, valueFormat: fmt.int })),
      h('div', { class: 'panel' }, h('div', { class: 'muted' }, 'listeners'), columnChart(eda.monthly.map(m => ({ label: m.month, value: m.users, title: `${m.month}: ${fmt.int(m.users)} listeners` })), { width: 460, valueFormat: fmt.int }))));
  }
  const quantiles = ['min', 'q25', 'median', 'mean', 'q75', 'p90', 'p99', 'max'];
  if (eda.events_per_user) {
    root.append(h('h2', { title: 'How listens spread over users and tracks: quantiles of the per-user and per-track counts.' }, 'Distributions'));
    root.append(table(['', ...quantiles.map(q => ({ label: q, num: true }))], ['events_per_user', 'events_per_track'].map(key => h('tr', {}, h('td', {}, key.replace(/_/g, ' ')), quantiles.map(q => h('td', { class: 'num' }, fmt.num(eda[key][q], q === 'mean' ? 1 : 0)))))));
    root.append(h('p', { class: 'muted' }, `${fmt.int(eda.users_with_at_most10_events)} users have at most 10 listens; ${fmt.int(eda.users_with_exactly11_events)} exactly 11.`));
  }
  const tops = [['top_tracks', 'Most played tracks'], ['top_artists', 'Most played artists'], ['top_genres', 'Most played genres'], ['top_tracks_window', `Most played tracks since ${eda.window_start}`], ['top_artists_window', `Most played artists since ${eda.window_start}`], ['top_genres_window', `Most played genres since ${eda.window_start}`]];
  const grid = h('div', { class: 'row' });
  for (const [key, title] of tops) {
    if (!eda[key]) continue;
    grid.append(h('div', { class: 'panel' }, h('h2', { title: 'Listening events, all time or in the popularity window.' }, title), barChart(eda[key].slice(0, 10).map(x => ({ label: x.name, value: x.count })), { width: 440, valueFormat: fmt.int })));
  }
  root.append(grid);
  return root;
}

// ---------- users ----------

async function usersHome() {
  return h('div', {}, h('h1', {}, 'Users'),
    h('form', { class: 'inline', id: 'user-form', onsubmit: e => { e.preventDefault(); const v = e.target.elements.user.value.trim(); if (v) location.hash = `#/users/${v}`; } },
      h('label', { for: 'user-id' }, 'User id'), h('input', { id: 'user-id', name: 'user', inputmode: 'numeric', pattern: '[0-9]+', placeholder: 'e.g. 2030' }), h('button', { type: 'submit' }, 'Inspect')),
    h('p', { class: 'muted' }, 'A user’s latest listens beside every list each model gives them, what the service answers now, and why the ranker ordered its list.'));
}

const COLUMN_TITLES = { answer: 'answer now', served: 'served (snapshot)', ranked: 'ranked', blend: 'blend', als: 'ALS', itemknn: 'item-based', genre: 'genre', similar: 'similar to recent', popular: 'popular' };

async function user(id) {
  const reply = await api(`/v1/ops/users/${id}?k=10&history=50`);
  const root = h('div', {});
  root.append(h('h1', {}, `User ${reply.userId} `, h('span', { class: 'badge' }, reply.known ? `${fmt.int(reply.snapshotListens)} listens in the snapshot` : 'not in the snapshot'),
    reply.onlineListens ? h('span', { class: 'badge online' }, `${reply.onlineListens} online since`) : null));
  root.append(h('p', { id: 'answer-reason' }, h('b', {}, 'What the service answers: '), reply.answerReason));

  // Log a listen: the answer changes with it (the track leaves every column; its neighbours come in).
  const listenResult = h('span', { class: 'hint', id: 'listen-result' });
  const logListen = async trackId => {
    try {
      const r = await api('/v1/listens', { method: 'POST', body: { userId: String(reply.userId), trackId: String(trackId) } });
      showMessage(`Logged a listen of track ${trackId} for user ${reply.userId} (sequence ${r.sequence}).`, 'info');
      await route();
    } catch (e) { showMessage(e.message); }
  };
  root.append(h('form', { class: 'inline', id: 'listen-form', onsubmit: e => { e.preventDefault(); const v = e.target.elements.track.value.trim(); if (v) logListen(v); } },
    h('label', { for: 'listen-track', title: 'Calls LogListen for this user; the page then shows the new answer.' }, 'Log a listen of track'), h('input', { id: 'listen-track', name: 'track', inputmode: 'numeric', placeholder: 'track id' }), h('button', { type: 'submit' }, 'Log'), listenResult));

  const history = table(['when', 'track', 'artists', 'genres'], reply.history.map(l => h('tr', {},
    h('td', {}, l.online ? h('span', { class: 'badge online', title: 'Logged through LogListen since the snapshot (the online log keeps order, not time).' }, 'online') : l.time),
    h('td', {}, trackLink(l.trackId, l.name)), h('td', {}, (l.artists || []).join(', ')), h('td', {}, (l.genres || []).join(', ')))), { id: 'history' });

  const lists = [reply.answer, ...reply.lists];
  const counts = new Map();
  for (const list of lists) for (const t of list.items || []) counts.set(t.trackId, (counts.get(t.trackId) || 0) + 1);
  const reasons = new Map((reply.rankedReasons || []).map(r => [r.trackId, r]));
  const reasonsPanel = h('div', { class: 'reasons', id: 'reasons' });
  const columns = h('div', { class: 'columns', id: 'columns' }, lists.map(list => h('div', { class: `column ${list.name}`, 'data-list': list.name },
    h('h3', { title: list.description }, COLUMN_TITLES[list.name] || list.name),
    (list.items || []).length === 0 ? h('div', { class: 'empty' }, 'nothing for this user') : null,
    h('ol', {}, (list.items || []).map(t => {
      const shared = counts.get(t.trackId) > 1;
      const li = h('li', {
        class: [shared ? 'shared' : '', t.heard ? 'heard' : ''].join(' ').trim() || null, 'data-track': t.trackId,
        title: `${t.name} — score ${fmt.num(t.score)}, rank ${t.rank}${shared ? `; in ${counts.get(t.trackId)} columns` : ''}${t.heard ? '; heard after the models were fitted' : ''}${t.source && list.name === 'answer' ? `; source ${t.source.replace('SOURCE_', '').toLowerCase()}` : ''}`,
        onmouseenter: () => document.querySelectorAll(`.column li[data-track="${t.trackId}"]`).forEach(x => x.classList.add('hover')),
        onmouseleave: () => document.querySelectorAll('.column li.hover').forEach(x => x.classList.remove('hover')),
        onclick: () => { if (list.name === 'ranked' && reasons.has(t.trackId)) showReasons(reasonsPanel, reasons.get(t.trackId), t); },
      },
      h('span', { class: 'name' }, `${t.rank}. `, trackLink(t.trackId, t.name), shared ? h('span', { class: 'badge', title: 'in this many columns' }, `×${counts.get(t.trackId)}`) : null),
      h('span', { class: 'meta' }, `${(t.artists || []).join(', ')} · ${fmt.num(t.score, 3)}`),
      h('button', { type: 'button', title: 'Log a listen of this track for this user', onclick: e => { e.stopPropagation(); logListen(t.trackId); } }, '▶'));
      return li;
    })))));
  root.append(h('div', { class: 'user-layout' },
    h('div', {}, h('h2', { title: 'Newest first: the online listens since the snapshot, then the snapshot’s own with their day.' }, `Latest listens (${reply.history.length} shown)`), history),
    h('div', {}, h('h2', { title: 'One column per list; a track in several columns is shaded, hover to find it in the others; click a ranked track for its reasons.' }, 'Every list'), columns, reasonsPanel)));
  const first = (reply.rankedReasons || [])[0];
  if (first) showReasons(reasonsPanel, first, reply.lists.find(l => l.name === 'ranked').items[0]);
  return root;
}

/** The ranker's reasons for one track: features, values, contributions (Saabas), bias; Σ + bias = score. */
function showReasons(panel, r, t) {
  document.querySelectorAll('.column.ranked li.selected').forEach(x => x.classList.remove('selected'));
  const li = document.querySelector(`.column.ranked li[data-track="${r.trackId}"]`);
  if (li) li.classList.add('selected');
  const sum = r.features.reduce((s, f) => s + f.contribution, 0);
  const max = Math.max(1e-9, ...r.features.map(f => Math.abs(f.contribution)));
  const rows = [...r.features].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution)).map(f => h('tr', {},
    h('td', {}, f.feature), h('td', { class: 'num' }, fmt.num(f.value, 4)), h('td', { class: 'num' }, (f.contribution >= 0 ? '+' : '') + fmt.num(f.contribution, 4)),
    h('td', {}, h('svg', { width: 160, height: 12 }, h('rect', { x: f.contribution >= 0 ? 80 : 80 - 78 * Math.abs(f.contribution) / max, y: 1, width: Math.max(0.5, 78 * Math.abs(f.contribution) / max), height: 10, class: f.contribution >= 0 ? 'bar-pos' : 'bar-neg' })))));
  panel.replaceChildren(
    h('h2', { title: 'Per feature, how much it moved this track’s score along the paths it took through the trees (Saabas); the bias is the trees’ expected score. Bias + Σ contributions = score.' }, `Why “${t ? t.name : r.trackId}” is ranked here`),
    h('p', { id: 'reasons-sum' }, `score ${fmt.num(r.score, 5)} = bias ${fmt.num(r.bias, 5)} + Σ contributions ${fmt.num(sum, 5)}`),
    table(['feature', { label: 'value', num: true }, { label: 'contribution', num: true }, ''], rows, { id: 'reasons-table' }));
}

// ---------- tracks ----------

async function tracksHome(query) {
  const q = query ? decodeURIComponent(query) : '';
  const root = h('div', {}, h('h1', {}, 'Tracks'),
    h('form', { class: 'inline', onsubmit: e => { e.preventDefault(); const v = e.target.elements.q.value.trim(); if (v) location.hash = `#/tracks?q=${encodeURIComponent(v)}`; } },
      h('input', { name: 'q', value: q, placeholder: 'track or artist name' }), h('button', { type: 'submit' }, 'Search')));
  if (!q) return root;
  const reply = await api(`/v1/ops/tracks?query=${encodeURIComponent(q)}&limit=50`);
  root.append(h('h2', {}, `${reply.tracks.length} track(s) matching “${q}”, the most listened first`));
  root.append(table(['track', 'artists', 'genres', 'id'], reply.tracks.map(t => h('tr', {}, h('td', {}, trackLink(t.trackId, t.name)), h('td', {}, (t.artists || []).join(', ')), h('td', {}, (t.genres || []).join(', ')), h('td', {}, t.trackId))), { id: 'search-results' }));
  return root;
}

async function track(id) {
  const reply = await api(`/v1/ops/tracks/${id}?k=10`);
  const t = reply.track;
  const root = h('div', {});
  root.append(h('h1', {}, t.name || `Track ${t.trackId}`));
  root.append(h('div', { class: 'cards' },
    card('Track id', t.trackId, 'The raw track_id of the export.'),
    card('Artists', (t.artists || []).join(', ') || '—', 'From catalog_names.parquet.'),
    card('Genres', (t.genres || []).join(', ') || '—', 'From catalog_names.parquet.'),
    card('Listens', fmt.int(reply.listeners), 'Listening events of the track in the events the snapshot’s models were fitted on.')));
  root.append(h('h2', { title: 'Three ways tracks are alike here; the scores are each table’s own.' }, 'Neighbours'));
  root.append(h('div', { class: 'columns', id: 'neighbours' }, reply.neighbours.map(list => h('div', { class: 'column', 'data-list': list.name },
    h('h3', { title: list.description }, list.name === 'als' ? 'ALS neighbours' : list.name === 'next' ? 'played next' : 'item-based'),
    (list.items || []).length === 0 ? h('div', { class: 'empty' }, 'none') : null,
    h('ol', {}, (list.items || []).map(n => h('li', { 'data-track': n.trackId }, h('span', { class: 'name' }, `${n.rank}. `, trackLink(n.trackId, n.name)), h('span', { class: 'meta' }, `${(n.artists || []).join(', ')} · ${fmt.num(n.score, 3)}`))))))));
  return root;
}

updateTokenButton();
if (!token()) openTokenPanel();
route();
