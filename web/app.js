// app.js - the conf-engine dashboard: plain JavaScript on the engine's HTTP API (docs/http.md "Dashboard")
//
// The page needs no token to load; it asks for one, keeps it in sessionStorage (this tab only)
// and sends it as "Authorization: Bearer" with every request.  The event stream is read with
// fetch(), not EventSource, so that the token travels in that header too and never in a URL
// (URLs end up in logs and browser history); on reconnection the page sends Last-Event-ID
// itself, and the engine resumes after it.
'use strict';

const TOKEN_KEY = 'conf-engine-token';
const RETRY_MIN = 1000, RETRY_MAX = 10000;

const st = {
  token: null,
  role: null,            // 'read' or 'admin'
  paths: {},             // the OpenAPI document's paths: what this server offers
  view: 'rooms',
  room: null,            // the room shown
  roomData: null,
  talking: new Set(),    // "room\nleg" of the legs talking now
  names: new Map(),      // leg -> caller_name, from the events
  lastId: null,          // the last event id read (Last-Event-ID on reconnection)
  stream: null,          // the AbortController of the event stream
  refreshTimer: 0,
  openRtp: new Set(),    // legs whose RTP figures are shown
  calls: new Map(),      // outbound call id -> its last state (POST /api/v1/calls, call events)
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'title' || k === 'type' ||
             k === 'id' || k === 'scope' || k === 'colspan' || k === 'role')
      e.setAttribute(k, v === true ? '' : v);
    else e[k] = v;
  }
  for (const c of children.flat())
    if (c !== null && c !== undefined && c !== false)
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// ---- messages to the user -----------------------------------------------------------

function showError(text) {
  const e = $('error');
  e.textContent = text || '';
  e.hidden = !text;
}

function setConn(kind, text) {
  const c = $('conn');
  c.hidden = !kind;
  c.className = 'conn ' + (kind || '');
  c.textContent = text || '';
}

// A failed request shown to the user (a refused token has signed the page out already).
function report(e) {
  if (e.status !== 401) showError(e.message);
}

class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// What went wrong, in plain words.
function explain(status, data) {
  const msg = data && data.error && data.error.message;
  switch (status) {
  case 0: return 'The server cannot be reached. Check that conf-engine runs; the page keeps trying.';
  case 401: return 'Token refused: the server does not know this token. Sign in with another one.';
  case 403: return 'This token may only read; the action needs an admin token.';
  case 404: return msg ? 'Not found: ' + msg + '.' : 'Not found.';
  case 409: return 'Not done: ' + (msg || 'it conflicts with the current state') + '.';
  case 429: return 'Too many failed sign-ins from this address. ' + (msg || '') ;
  case 503: return 'The server is busy: ' + (msg || 'try again shortly') + '.';
  default: return (msg ? msg.charAt(0).toUpperCase() + msg.slice(1) : 'The server answered ' + status) + '.';
  }
}

// One API request: the parsed answer, or an ApiError (status 0: the network failed).
async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + st.token };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, explain(0));
  }
  const type = r.headers.get('Content-Type') || '';
  const data = type.startsWith('application/json') ? await r.json().catch(() => null) : await r.text();
  if (r.status === 401) {
    signOut(explain(401));
    throw new ApiError(401, explain(401), 'unauthorized');
  }
  if (!r.ok)
    throw new ApiError(r.status, explain(r.status, data), data && data.error && data.error.code);
  return data;
}

// ---- signing in and out -------------------------------------------------------------

async function signIn(token) {
  st.token = token;
  showError('');
  let who;
  try {
    who = await api('GET', '/api/v1/token');
  } catch (e) {
    if (e.status !== 401) {
      showError(e.message);
      st.token = null;
    }
    return false;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  st.role = who.role;
  $('who').textContent = who.name + ' (' + (who.role === 'admin' ? 'admin' : 'read only') + ')';
  document.body.classList.toggle('admin', who.role === 'admin');
  $('login').hidden = true;
  $('nav').hidden = false;
  $('signout').hidden = false;
  try {
    st.paths = (await api('GET', '/api/v1/openapi.json')).paths || {};
  } catch (e) {
    st.paths = {};
  }
  startStream();
  route();
  return true;
}

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  st.token = st.role = null;
  if (st.stream) st.stream.abort();
  st.stream = null;
  st.lastId = null;
  st.talking.clear();
  st.calls.clear();
  st.openRtp.clear();
  st.roomData = null;
  // nothing of this session stays on the page: the next one (perhaps a read-only token)
  // would otherwise see this one's rows and buttons until its own data arrives
  for (const id of ['rooms', 'legs', 'calls', 'confs', 'cdrs']) $(id).replaceChildren();
  $('room').hidden = true;
  setConn(null);
  $('who').textContent = '';
  $('signout').hidden = true;
  $('nav').hidden = true;
  for (const v of document.querySelectorAll('.view')) v.hidden = true;
  $('login').hidden = false;
  $('token').value = '';
  showError(why || '');
  $('token').focus();
}

// ---- views --------------------------------------------------------------------------

function route() {
  if (!st.token) return;
  const h = decodeURIComponent(location.hash.slice(1));
  const [view, ...rest] = h.split('/');
  st.view = ['rooms', 'conferences', 'history'].includes(view) ? view : 'rooms';
  st.room = st.view === 'rooms' && rest.length ? rest.join('/') : null;
  for (const b of document.querySelectorAll('#nav button'))
    b.setAttribute('aria-current', b.dataset.view === st.view ? 'page' : 'false');
  for (const v of ['rooms', 'conferences', 'history'])
    $('view-' + v).hidden = v !== st.view;
  showError('');
  if (st.view === 'rooms') loadRooms();
  else if (st.view === 'conferences') loadConferences();
  else loadHistory();
}

function go(hash) {
  if (location.hash === '#' + hash) route();
  else location.hash = hash;
}

// ---- live rooms ---------------------------------------------------------------------

async function loadRooms() {
  let list;
  try {
    list = (await api('GET', '/api/v1/rooms')).rooms || [];
  } catch (e) {
    report(e);
    return;
  }
  const ul = $('rooms');
  ul.replaceChildren(...list.map((r) => el('li', {},
    el('button', { type: 'button', class: 'room-item', 'data-room': r.name,
                   'aria-current': r.name === st.room ? 'true' : 'false' },
      el('span', { class: 'room-name' }, r.name),
      el('span', { class: 'room-meta' },
        r.participants + (r.participants === 1 ? ' participant' : ' participants'),
        r.talkers ? el('span', { class: 'badge talking' }, r.talkers + ' talking') : null,
        r.locked ? el('span', { class: 'badge' }, 'locked') : null,
        r.recording ? el('span', { class: 'badge rec' }, 'recording') : null)))));
  $('rooms-empty').hidden = list.length > 0;
  if (!st.room && list.length === 1) st.room = list[0].name;
  if (st.room) await loadRoom();
  else $('room').hidden = true;
}

async function loadRoom() {
  const name = st.room;
  let r;
  try {
    r = await api('GET', '/api/v1/rooms/' + encodeURIComponent(name));
  } catch (e) {
    if (e.status === 404) {
      $('room').hidden = true;
      st.roomData = null;
      return;
    }
    report(e);
    return;
  }
  if (name !== st.room) return;
  for (const k of [...st.talking])
    if (k.startsWith(name + '\n')) st.talking.delete(k);
  for (const l of r.legs || [])
    if (l.talking) st.talking.add(name + '\n' + l.id);
  renderRoom(r);
}

function legKey(room, leg) {
  return room + '\n' + leg;
}

function renderRoom(r) {
  st.roomData = r;
  $('room').hidden = false;
  $('room-title').textContent = 'Room ' + r.name;
  const bits = [r.participants + (r.participants === 1 ? ' participant' : ' participants')];
  if (r.maxusers) bits.push('at most ' + r.maxusers);
  bits.push(r.locked ? 'locked' : 'open');
  if (r.recording) bits.push('recording to ' + r.recording);
  $('room-state').textContent = bits.join(' · ');
  const admin = st.role === 'admin';
  $('room-actions').hidden = !admin;
  for (const b of $('room-actions').querySelectorAll('button')) {
    const a = b.dataset.roomAction;
    b.hidden = (a === 'lock' && r.locked) || (a === 'unlock' && !r.locked) ||
               (a === 'record/start' && r.recording) || (a === 'record/stop' && !r.recording);
  }
  $('invite').hidden = !(admin && st.paths['/api/v1/calls'] && st.paths['/api/v1/calls'].post);
  $('play').hidden = !(admin && st.paths['/api/v1/rooms/{name}/play']);
  renderCalls();
  const focused = document.activeElement && document.activeElement.dataset &&
                  document.activeElement.dataset.focusKey;
  const rows = [];
  for (const l of r.legs || []) {
    rows.push(legRow(r.name, l, admin));
    if (st.openRtp.has(l.id)) rows.push(rtpRow(l));
  }
  $('legs').replaceChildren(...rows);
  if (focused) {
    const again = document.querySelector('[data-focus-key="' + CSS.escape(focused) + '"]');
    if (again) again.focus();
  }
}

function legRow(room, l, admin) {
  const talking = st.talking.has(legKey(room, l.id));
  const name = st.names.get(l.id);
  const who = el('td', {}, el('div', { class: 'who-cell' },
    el('span', { class: 'talk-dot', 'aria-hidden': 'true' }),
    el('span', { class: 'leg-name' }, name || l.caller || l.id),
    name && l.caller ? el('span', { class: 'leg-number' }, l.caller) : null,
    el('span', { class: 'leg-id' }, l.id + (l.utility ? ' (recorder/player)' : ''))));
  // the level the room hears of it (rtp.level_db, dBFS; -127: nothing), on a -60..0 scale
  const level = l.rtp && typeof l.rtp.level_db === 'number' ? Math.max(-60, l.rtp.level_db) : -60;
  const flags = el('td', { class: 'flags' },
    el('meter', { class: 'level', min: '-60', max: '0', low: '-40', high: '-6', optimum: '-20',
                  value: String(level), title: level > -60 ? level + ' dBFS' : 'silent',
                  'aria-label': 'level of ' + (name || l.caller || l.id) }),
    el('span', { class: 'badge talking talk-flag', hidden: !talking }, 'talking'),
    l.muted ? el('span', { class: 'badge muted' }, 'muted') : null,
    l.deaf ? el('span', { class: 'badge deaf' }, 'deaf') : null,
    l.state !== 'joined' ? el('span', { class: 'badge' }, l.state) : null);
  const acts = el('td', { class: 'act-col' });
  const label = name || l.caller || l.id;
  const btn = (action, text, cls) => el('button', {
    type: 'button', class: cls || '', 'data-leg': l.id, 'data-action': action,
    'data-focus-key': l.id + '|' + action, 'aria-label': text + ' ' + label }, text);
  if (admin && !l.utility) {
    acts.append(l.muted ? btn('unmute', 'Unmute') : btn('mute', 'Mute'),
                l.deaf ? btn('undeaf', 'Undeaf') : btn('deaf', 'Deafen'),
                btn('kick', 'Kick', 'danger'));
  }
  acts.append(el('button', { type: 'button', 'data-leg': l.id, 'data-action': 'rtp',
                             'data-focus-key': l.id + '|rtp',
                             'aria-expanded': st.openRtp.has(l.id) ? 'true' : 'false',
                             'aria-label': 'RTP figures of ' + label }, 'RTP'));
  return el('tr', { class: 'leg' + (talking ? ' is-talking' : ''), 'data-leg-id': l.id,
                    'data-caller': l.caller || '' },
    who, el('td', {}, l.role || '—'), flags, acts);
}

const RTP_LABELS = {
  rtp_in: 'packets in', rtp_late: 'late', concealed_ms: 'made up (ms)', jitter_ms: 'jitter (ms)',
  delay_ms: 'buffer delay (ms)', rtp_bad: 'not RTP', rtp_wrong_pt: 'wrong payload type',
  rtp_flood: 'flood', rtp_dtmf: 'keys (RFC 4733)', latched: 're-latches', level_db: 'level (dBFS)',
  rtp_fec: 'rebuilt from FEC (Opus)',
};

function rtpRow(l) {
  const figures = Object.entries(l.rtp || {});
  return el('tr', { class: 'rtp-row' }, el('td', { colspan: '4' },
    figures.length ? el('dl', { class: 'rtp' }, figures.map(([k, v]) =>
      el('div', {}, el('dt', {}, RTP_LABELS[k] || k), el('dd', {}, v))))
      : 'No audio yet.'));
}

// A talker event: only the row's talking mark changes, at once.
function markTalking(room, leg, on) {
  const k = legKey(room, leg);
  if (on) st.talking.add(k);
  else st.talking.delete(k);
  if (room !== st.room) return;
  const row = document.querySelector('tr[data-leg-id="' + CSS.escape(leg) + '"]');
  if (!row) return;
  row.classList.toggle('is-talking', on);
  row.querySelector('.talk-flag').hidden = !on;
}

async function roomAction(action) {
  const r = st.roomData;
  if (!r) return;
  if (action === 'end' && !confirm('End room ' + r.name + ' and drop everyone in it?')) return;
  try {
    const res = await api('POST', '/api/v1/rooms/' + encodeURIComponent(r.name) + '/' + action);
    showError('');
    if (res && res.ended) go('rooms');
    else if (res && res.legs) renderRoom(res);
  } catch (e) {
    report(e);
  }
}

async function legAction(leg, action) {
  const r = st.roomData;
  if (!r) return;
  if (action === 'rtp') {
    if (st.openRtp.has(leg)) st.openRtp.delete(leg);
    else st.openRtp.add(leg);
    return loadRoom();
  }
  if (action === 'kick' && !confirm('Drop ' + (st.names.get(leg) || leg) + ' from the room?')) return;
  try {
    const res = await api('POST', '/api/v1/rooms/' + encodeURIComponent(r.name) + '/legs/' +
                          encodeURIComponent(leg) + '/' + action);
    showError('');
    if (res && res.ended) go('rooms');
    else if (res && res.legs) renderRoom(res);
  } catch (e) {
    report(e);
  }
}

// ---- invited calls: their outcome, live ----------------------------------------------

// A call's states in the order they come: an older answer never overwrites a newer event.
const CALL_RANK = { dialing: 0, answered: 1, failed: 2, ended: 2 };
const CALL_REASONS = {
  busy: 'the line is busy', noanswer: 'no answer', badnumber: 'bad number (no route to it)',
  unreachable: 'unreachable (offline or out of service)', rejected: 'rejected by the callee',
  error: 'error',
};
const CALLS_SHOWN = 5;

// What a call is now, in words: "Ringing…", "Answered: in the room", "Failed: the line is busy".
function callText(c) {
  switch (c.state) {
  case 'dialing': return c.ringing ? 'Ringing…' : 'Dialing…';
  case 'answered': return 'Answered: in the room';
  case 'failed': return 'Failed: ' + (CALL_REASONS[c.reason] || c.reason || 'error');
  case 'ended': return 'Ended' + (c.reason ? ': ' + c.reason : '');
  default: return c.state;
  }
}

// A call's new state (the answer to POST, a GET, or a call event).
function noteCall(c) {
  if (!c || c.id === undefined) return;
  const prev = st.calls.get(c.id);
  if (prev && (CALL_RANK[prev.state] || 0) > (CALL_RANK[c.state] || 0)) return;
  st.calls.set(c.id, Object.assign({}, prev, c));
  renderCalls();
}

function renderCalls() {
  const ul = $('calls');
  const mine = [...st.calls.values()].filter((c) => c.room === st.room)
    .sort((a, b) => b.id - a.id).slice(0, CALLS_SHOWN);
  ul.hidden = !mine.length || $('invite').hidden;
  ul.replaceChildren(...mine.map((c) => {
    const who = c.name || c.number || c.target;
    const detail = c.state === 'failed' && c.reason === 'error' && c.detail ? c.detail : null;
    return el('li', { class: 'call state-' + c.state, 'data-call': String(c.id),
                      'data-state': c.state, 'data-reason': c.reason || '' },
      el('span', { class: 'call-who' }, who),
      el('span', { class: 'call-state' }, callText(c)),
      detail ? el('span', { class: 'call-detail' }, detail) : null,
      c.state === 'failed' || c.state === 'ended'
        ? el('button', { type: 'button', class: 'call-clear', 'data-call': String(c.id),
                         'aria-label': 'Dismiss the call to ' + who }, '×')
        : null);
  }));
}

// After a reconnection: the calls still going, read again (their events may have been missed).
async function refreshCalls() {
  for (const c of [...st.calls.values()]) {
    if (c.state !== 'dialing' && c.state !== 'answered') continue;
    try {
      noteCall(await api('GET', '/api/v1/calls/' + encodeURIComponent(c.id)));
    } catch (e) {
      if (e.status === 404) st.calls.delete(c.id);
    }
  }
  renderCalls();
}

async function invite(number) {
  try {
    noteCall(await api('POST', '/api/v1/calls', { room: st.room, number }));
    $('invite-number').value = '';
    showError('');
  } catch (e) {
    report(e);
  }
}

// ---- prompts ------------------------------------------------------------------------

async function playPrompt(stop) {
  const r = st.roomData;
  const file = $('play-file').value.trim();
  if (!r || (!stop && !file)) return;
  const path = '/api/v1/rooms/' + encodeURIComponent(r.name) + (stop ? '/play/stop' : '/play');
  $('play-status').textContent = '';
  try {
    const res = await api('POST', path, stop ? undefined : { file });
    showError('');
    $('play-status').textContent = stop ? 'Stopped the prompts of the room.'
                                        : 'Playing ' + file + ' to the room.';
    if (res && res.legs) renderRoom(res);
  } catch (e) {
    report(e);
  }
}

// While a room is shown, re-read it every second: its level meters move.
setInterval(() => {
  if (st.token && st.view === 'rooms' && st.room && !document.hidden) loadRoom();
}, 1000);

// Re-read the rooms soon (once for a burst of events).
function scheduleRefresh() {
  if (st.refreshTimer || st.view !== 'rooms') return;
  st.refreshTimer = setTimeout(() => {
    st.refreshTimer = 0;
    if (st.token && st.view === 'rooms') loadRooms();
  }, 250);
}

// ---- the event stream ---------------------------------------------------------------

function onEvent(ev) {
  if (ev.id !== undefined) st.lastId = ev.id;
  if (ev.event === 'reset' || ev.event === 'gap') {
    scheduleRefresh();
    return;
  }
  let d;
  try {
    d = JSON.parse(ev.data);
  } catch (e) {
    return;
  }
  if (d.type === 'call') {
    noteCall(d);
    return;
  }
  if (d.type !== 'event') return;
  if (d.leg && d.caller_name) st.names.set(d.leg, d.caller_name);
  if (d.event === 'talk-start' || d.event === 'talk-stop') {
    markTalking(d.room, d.leg, d.event === 'talk-start');
    return;
  }
  scheduleRefresh();
}

// Server-Sent Events read from a fetch() body: "field: value" lines, events end with a blank line.
async function readStream(resp) {
  const reader = resp.body.getReader();
  const dec = new TextDecoder();
  let buf = '', ev = {};
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (!line) {
        if (ev.data !== undefined) onEvent(ev);
        ev = {};
        continue;
      }
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'data') ev.data = ev.data === undefined ? val : ev.data + '\n' + val;
      else if (field === 'id' && /^\d+$/.test(val)) ev.id = Number(val);
      else if (field === 'event') ev.event = val;
    }
  }
}

async function startStream() {
  if (st.stream) st.stream.abort();
  const ctl = new AbortController();
  st.stream = ctl;
  let wait = RETRY_MIN;
  while (st.stream === ctl) {
    const headers = { Authorization: 'Bearer ' + st.token };
    if (st.lastId !== null) headers['Last-Event-ID'] = String(st.lastId);
    try {
      const resp = await fetch('/api/v1/events', { headers, signal: ctl.signal, cache: 'no-store' });
      if (resp.status === 401) {
        signOut(explain(401));
        return;
      }
      if (!resp.ok) throw new Error(explain(resp.status));
      setConn('live', 'Live');
      wait = RETRY_MIN;
      if (st.lastId !== null) { // what changed while away
        scheduleRefresh();
        refreshCalls();
      }
      await readStream(resp);
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    if (st.stream !== ctl) return;
    setConn('reconnecting', 'Reconnecting…');
    await new Promise((ok) => setTimeout(ok, wait));
    wait = Math.min(wait * 2, RETRY_MAX);
  }
}

// ---- the schedule -------------------------------------------------------------------

function when(t) {
  if (t === undefined || t === null || t === '') return '—';
  const d = new Date(typeof t === 'number' && t > 1e14 ? t / 1000 : t);
  return isNaN(d) ? String(t) : d.toLocaleString();
}

// An <input type=datetime-local> value as RFC 3339 with this browser's UTC offset.
function rfc3339(local) {
  const d = new Date(local);
  const off = -d.getTimezoneOffset();
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return local + (local.length === 16 ? ':00' : '') + (off >= 0 ? '+' : '-') + pad(off / 60) + ':' + pad(off % 60);
}

function localInput(t) {
  const d = new Date(t);
  if (isNaN(d)) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' +
         pad(d.getHours()) + ':' + pad(d.getMinutes());
}

function missing(which, yes) {
  $(which + '-missing').hidden = !yes;
  $(which + '-body').hidden = yes;
}

// The items of an endpoint this server may not have (the schedule's, history's): null, and the
// view's "not available" notice, when it answers 404.
async function optionalList(which, path, key) {
  let data;
  try {
    data = await api('GET', path);
  } catch (e) {
    if (e.status === 404 && e.code === 'not_found') missing(which, true);
    else report(e);
    return null;
  }
  missing(which, false);
  return (data && data[key]) || [];
}

// RFC 3339 in UTC, whole seconds, @hours ago.
function hoursAgo(hours) {
  return new Date(Date.now() - hours * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
}

function dayOf(t) {
  const d = new Date(t);
  return isNaN(d) ? '' : d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric',
                                                            month: 'long', year: 'numeric' });
}

// The schedule from a day ago on, in start order, one heading row per day (a calendar's agenda).
async function loadConferences() {
  const list = await optionalList('conf', '/api/v1/conferences?limit=500&from=' + hoursAgo(24),
                                  'conferences');
  if (!list) return;
  const admin = st.role === 'admin';
  $('conf-form').hidden = !admin;
  const rows = [];
  let day = null;
  for (const c of list) {
    if (dayOf(c.starts_at) !== day) {
      day = dayOf(c.starts_at);
      rows.push(el('tr', { class: 'day' }, el('th', { colspan: '6', scope: 'colgroup' }, day)));
    }
    const acts = el('td', { class: 'act-col' });
    if (admin && c.status !== 'cancelled') {
      acts.append(el('button', { type: 'button', 'data-conf': c.id, 'data-conf-action': 'edit',
                                 'aria-label': 'Edit ' + (c.title || c.access_number) }, 'Edit'),
                  el('button', { type: 'button', class: 'danger', 'data-conf': c.id,
                                 'data-conf-action': 'cancel',
                                 'aria-label': 'Cancel ' + (c.title || c.access_number) }, 'Cancel'));
    }
    rows.push(el('tr', { 'data-conf-id': c.id, class: c.status === 'cancelled' ? 'cancelled' : '' },
      el('td', {}, c.title || '—'),
      el('td', {}, c.access_number),
      el('td', {}, when(c.starts_at)),
      el('td', {}, when(c.ends_at)),
      el('td', {}, c.status), acts));
  }
  $('confs').replaceChildren(...(rows.length ? rows
    : [el('tr', {}, el('td', { colspan: '6', class: 'muted' }, 'Nothing scheduled.'))]));
  st.conferences = list;
}

function editConference(id) {
  const c = (st.conferences || []).find((x) => String(x.id) === String(id));
  if (!c) return;
  $('conf-id').value = c.id;
  $('conf-name').value = c.title || '';
  $('conf-number').value = c.access_number;
  $('conf-start').value = localInput(c.starts_at);
  $('conf-end').value = localInput(c.ends_at);
  $('conf-pin').value = '';
  $('conf-form-title').textContent = 'Edit the conference';
  $('conf-save').textContent = 'Save';
  $('conf-name').focus();
}

function resetConferenceForm() {
  $('conf-form').reset();
  $('conf-id').value = '';
  $('conf-form-title').textContent = 'Schedule a conference';
  $('conf-save').textContent = 'Schedule';
}

async function saveConference() {
  const id = $('conf-id').value;
  const body = { access_number: $('conf-number').value,
                 starts_at: rfc3339($('conf-start').value), ends_at: rfc3339($('conf-end').value) };
  if ($('conf-name').value) body.title = $('conf-name').value;
  if ($('conf-pin').value) body.pin = $('conf-pin').value; // an edit without one keeps the PIN
  try {
    if (id) await api('PATCH', '/api/v1/conferences/' + encodeURIComponent(id), body);
    else await api('POST', '/api/v1/conferences', body);
    resetConferenceForm();
    showError('');
    loadConferences();
  } catch (e) {
    report(e);
  }
}

async function cancelConference(id) {
  if (!confirm('Cancel this conference?')) return;
  try {
    await api('POST', '/api/v1/conferences/' + encodeURIComponent(id) + '/cancel');
    loadConferences();
  } catch (e) {
    report(e);
  }
}

// ---- history ------------------------------------------------------------------------

function seconds(ms) {
  if (ms === undefined || ms === null) return '—';
  const s = Math.round(ms / 1000);
  return s >= 60 ? Math.floor(s / 60) + ' min ' + (s % 60) + ' s' : s + ' s';
}

// The CDRs of the period chosen (the server gives the oldest first, at most 1000 as JSON).
function historyPath(format) {
  return '/api/v1/history/cdrs?format=' + format + '&limit=' + (format === 'csv' ? 10000 : 1000) +
         '&from=' + hoursAgo(Number($('hist-period').value));
}

async function loadHistory() {
  const list = await optionalList('hist', historyPath('json'), 'cdrs');
  if (!list) return;
  list.reverse(); // the newest first
  $('cdrs').replaceChildren(...(list.length ? list.map((c) => el('tr', {},
    el('td', {}, c.room || '—'),
    el('td', {}, [c.caller_name, c.caller].filter(Boolean).join(' ') || c.leg || '—'),
    el('td', {}, when(c.joined)),
    el('td', {}, seconds(c.duration_ms)),
    el('td', {}, seconds(c.talk_ms)),
    el('td', {}, c.reason || '—'))) : [el('tr', {}, el('td', { colspan: '6', class: 'muted' }, 'No records yet.'))]));
}

// The CSV export needs the token, so it is fetched here and handed to the browser as a file.
async function exportCsv() {
  let text;
  try {
    text = await api('GET', historyPath('csv'));
  } catch (e) {
    report(e);
    return;
  }
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const a = el('a', { href: url, download: 'conf-engine-cdrs.csv' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- wiring -------------------------------------------------------------------------

function wire() {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('token').value.trim();
    if (t) signIn(t);
  });
  $('signout').addEventListener('click', () => signOut());
  $('nav').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-view]');
    if (b) go(b.dataset.view);
  });
  $('rooms').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-room]');
    if (b) go('rooms/' + encodeURIComponent(b.dataset.room));
  });
  $('room-actions').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-room-action]');
    if (b) roomAction(b.dataset.roomAction);
  });
  $('legs').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-action]');
    if (b) legAction(b.dataset.leg, b.dataset.action);
  });
  $('invite').addEventListener('submit', (e) => {
    e.preventDefault();
    invite($('invite-number').value.trim());
  });
  $('calls').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-call]');
    if (!b) return;
    st.calls.delete(Number(b.dataset.call));
    renderCalls();
  });
  $('play').addEventListener('submit', (e) => {
    e.preventDefault();
    playPrompt(false);
  });
  $('play-stop').addEventListener('click', () => playPrompt(true));
  $('confs').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-conf-action]');
    if (!b) return;
    if (b.dataset.confAction === 'edit') editConference(b.dataset.conf);
    else cancelConference(b.dataset.conf);
  });
  $('conf-form').addEventListener('submit', (e) => {
    e.preventDefault();
    saveConference();
  });
  $('conf-reset').addEventListener('click', resetConferenceForm);
  $('hist-refresh').addEventListener('click', loadHistory);
  $('hist-period').addEventListener('change', loadHistory);
  $('hist-csv').addEventListener('click', exportCsv);
  window.addEventListener('hashchange', route);
  window.addEventListener('offline', () => setConn('reconnecting', 'Offline: reconnecting…'));
}

wire();
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
else $('token').focus();
