// @ts-check
/*
 * NATS Streaming console: polls the public monitoring endpoints (/streaming/*, /readyz) and,
 * with an admin token, the admin API (/admin/v1/). The token lives in sessionStorage and is
 * sent only as the Authorization header (no cookies). Plain DOM code, no framework.
 */
'use strict';
(function () {
  const POLL_MS = 2000;
  const HISTORY = 60; // samples kept and drawn: 2 minutes at 2 s
  const TOKEN_KEY = 'stan-admin-token';

  /**
   * Admin actions the UI knows; each is shown only when openapi.json lists its path+method.
   * `fields`: parameters typed into a small form before the confirmation (at least one must be
   * given; `kind: 'seq'` is sent as a number); `fixed`: body fields taken from the row.
   */
  const ACTIONS = [
    { id: 'purgeChannel', method: 'post', path: '/channels/{name}/purge', scope: 'channel', label: 'Purge', confirm: 'Drop all messages of channel {name}?' },
    { id: 'purgeBefore', method: 'post', path: '/channels/{name}/purge', scope: 'channel', label: 'Purge before', confirm: 'Drop the messages of channel {name} before {what}?',
      fields: [{ name: 'before_seq', kind: 'seq', label: 'before seq' }, { name: 'before_time', kind: 'time', label: 'or before time' }] },
    { id: 'deleteChannel', method: 'delete', path: '/channels/{name}', scope: 'channel', label: 'Delete', confirm: 'Delete channel {name}?' },
    { id: 'evictClient', method: 'delete', path: '/clients/{id}', scope: 'client', label: 'Evict', confirm: 'Evict client {id}? Its subscriptions end as on a close.' },
    { id: 'resetDurable', method: 'post', path: '/channels/{name}/durables/reset', scope: 'durable', label: 'Reset',
      confirm: 'Move durable {durable} of client {client_id} on channel {name} so that its next message is the one at {what}?',
      fixed: ['client_id', 'durable', 'queue'], fields: [{ name: 'seq', kind: 'seq', label: 'next seq' }, { name: 'time', kind: 'time', label: 'or from time' }] },
    { id: 'requeueMessage', method: 'post', path: '/channels/{name}/messages/{seq}/requeue', scope: 'message', label: 'Requeue', confirm: 'Requeue message {seq} of {name} to its original channel?' },
  ];

  /** @type {{serverz?: any, channels: any[], clients: any[], ready?: {status: number, error?: string}, ft?: boolean}} */
  const state = { channels: [], clients: [] };
  /** @type {Map<string, {t: number, last: number, sent: number}[]>} per channel samples */
  const history = new Map();
  /** @type {{t: number, in: number, out: number}[]} server samples */
  const serverHistory = [];
  /** @type {Set<string>} "method path" of the admin endpoints this server offers */
  let adminPaths = new Set();
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let adminOk = false;

  const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

  /** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node|string)[]} [kids] */
  function el(tag, attrs = {}, kids = []) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    for (const k of kids) e.append(k);
    return e;
  }

  async function getJSON(/** @type {string} */ url, admin = false) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (admin && token) headers['Authorization'] = 'Bearer ' + token;
    const r = await fetch(url, { headers, credentials: 'omit', cache: 'no-store' });
    const text = await r.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = { message: text }; }
    return { status: r.status, body };
  }

  // ------------------------------------------------------------------ polling
  async function poll() {
    try {
      const [sz, ch, cl, rz, ft] = await Promise.all([
        getJSON('/streaming/serverz'),
        getJSON('/streaming/channelsz?subs=1'),
        getJSON('/streaming/clientsz?subs=1'),
        getJSON('/readyz'),
        fetch('/streaming/isFTActive', { cache: 'no-store' }).then(async (r) => { await r.text(); return r.status === 200; }),
      ]);
      const now = Date.now();
      state.serverz = sz.body;
      state.channels = (ch.body && ch.body.channels) || [];
      state.clients = (cl.body && cl.body.clients) || [];
      state.ready = { status: rz.status, error: rz.body && rz.body.error };
      state.ft = ft;
      serverHistory.push({ t: now, in: sz.body.in_msgs, out: sz.body.out_msgs });
      if (serverHistory.length > HISTORY) serverHistory.shift();
      for (const c of state.channels) {
        const h = history.get(c.name) || [];
        const sent = (c.subscriptions || []).reduce((/** @type {number} */ a, /** @type {any} */ s) => a + s.last_sent, 0);
        h.push({ t: now, last: c.last_seq, sent });
        if (h.length > HISTORY) h.shift();
        history.set(c.name, h);
      }
      $('updated').textContent = 'updated ' + new Date(now).toLocaleTimeString();
      render();
    } catch (err) {
      $('updated').textContent = 'monitor unreachable: ' + String(err);
    }
  }

  /** msgs/s between consecutive samples of a counter. */
  function rates(/** @type {{t: number}[]} */ h, /** @type {(x: any) => number} */ f) {
    const out = [];
    for (let i = 1; i < h.length; i++) {
      const dt = (h[i].t - h[i - 1].t) / 1000;
      out.push(dt > 0 ? Math.max(0, (f(h[i]) - f(h[i - 1])) / dt) : 0);
    }
    return out;
  }

  function sparkline(/** @type {number[]} */ values, /** @type {string} */ cls) {
    const w = 120, hgt = 18;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('width', String(w));
    svg.setAttribute('height', String(hgt));
    svg.setAttribute('class', 'spark ' + cls);
    const max = Math.max(1, ...values);
    const n = Math.max(values.length, 2);
    const pts = values.map((v, i) => `${((i + HISTORY - n + 1) / (HISTORY - 1)) * w},${hgt - 1 - (v / max) * (hgt - 2)}`);
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('points', pts.join(' '));
    svg.append(line);
    return svg;
  }

  function rate(/** @type {number[]} */ r) {
    return r.length ? r[r.length - 1].toFixed(1) : '–';
  }

  // ------------------------------------------------------------------ views
  function table(/** @type {string[]} */ head, /** @type {(Node|string)[][]} */ rows, /** @type {string} */ id) {
    const thead = el('thead', {}, [el('tr', {}, head.map((h) => el('th', {}, [h])))]);
    const tbody = el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, [c])))));
    return el('table', { id }, [thead, tbody]);
  }

  function actionButtons(/** @type {string} */ scope, /** @type {Record<string, string>} */ vars) {
    const span = el('span', { class: 'actions' });
    for (const a of ACTIONS) {
      if (a.scope !== scope || !adminOk || !adminPaths.has(a.method + ' ' + a.path)) continue;
      const b = el('button', { class: 'danger', 'data-action': a.id }, [a.fields ? a.label + '…' : a.label]);
      b.addEventListener('click', () => (a.fields ? openForm(a, vars) : runAction(a, vars, {})));
      span.append(b);
    }
    return span;
  }

  const fill = (/** @type {string} */ s, /** @type {Record<string, string>} */ vars) => s.replace(/\{(\w+)\}/g, (_, k) => vars[k]);

  /**
   * The parameter form of an action, in its own panel above the view: polling re-renders the
   * view every 2 s, which must not reset what is being typed.
   */
  function openForm(/** @type {any} */ a, /** @type {Record<string, string>} */ vars) {
    const inputs = a.fields.map((/** @type {any} */ f) => el('input', {
      id: 'param-' + f.name, name: f.name, size: f.kind === 'seq' ? '8' : '22', 'aria-label': f.label,
      placeholder: f.kind === 'seq' ? 'sequence' : '2026-12-06T00:00:00Z',
    }));
    const what = a.scope === 'durable' ? vars.durable + (vars.queue ? ':' + vars.queue : '') + ' of ' + vars.client_id + ' on ' + vars.name : vars.name;
    const error = el('span', { class: 'error', id: 'action-error' });
    const form = el('form', { id: 'action-form', 'data-action': a.id, autocomplete: 'off' }, [el('strong', {}, [a.label + ' ' + what + ': ']),
      ...a.fields.flatMap((/** @type {any} */ f, /** @type {number} */ i) => [' ' + f.label + ' ', inputs[i]]),
      ' ', el('button', { type: 'submit', class: 'danger', id: 'action-submit' }, [a.label]), ' ', el('button', { type: 'button', id: 'action-cancel' }, ['Cancel']), ' ', error]);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      /** @type {Record<string, string | number>} */
      const body = {};
      for (const k of a.fixed || []) if (vars[k]) body[k] = vars[k];
      /** @type {string[]} */
      const given = [];
      a.fields.forEach((/** @type {any} */ f, /** @type {number} */ i) => {
        const v = /** @type {HTMLInputElement} */ (inputs[i]).value.trim();
        if (!v) return;
        // Digits go as a JSON number; anything else is sent as typed for the server to name.
        body[f.name] = f.kind === 'seq' && /^\d+$/.test(v) ? Number(v) : v;
        given.push((f.kind === 'seq' ? 'seq ' : 'time ') + v);
      });
      if (given.length === 0) { error.textContent = 'give ' + a.fields.map((/** @type {any} */ f) => f.label.replace(/^or /, '')).join(' or '); return; }
      runAction(a, { ...vars, what: given.join(' and ') }, body).then((done) => { if (done) closeForm(); });
    });
    $('action-panel').replaceChildren(form);
    /** @type {HTMLElement} */ (form.querySelector('#action-cancel')).addEventListener('click', closeForm);
    inputs[0].focus();
  }

  function closeForm() {
    $('action-panel').replaceChildren();
  }

  /** Confirms, sends, shows the answer; resolves true when the request was sent. */
  async function runAction(/** @type {any} */ a, /** @type {Record<string, string>} */ vars, /** @type {Record<string, string | number>} */ body) {
    if (!window.confirm(fill(a.confirm, vars))) return false;
    const path = a.path.replace(/\{(\w+)\}/g, (/** @type {string} */ _, /** @type {string} */ k) => encodeURIComponent(vars[k]));
    const r = await fetch('/admin/v1' + path, {
      method: a.method.toUpperCase(),
      headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
      body: a.method === 'post' ? JSON.stringify(body) : undefined,
      credentials: 'omit',
    });
    const answer = await r.json().catch(() => ({}));
    // The server's answer, field by field (what was removed, the new sequence...), so the
    // operator sees what the action did rather than only that it succeeded.
    const details = Object.entries(answer)
      .filter(([k, v]) => k !== 'ok' && (typeof v === 'number' || typeof v === 'string'))
      .map(([k, v]) => k + ': ' + v)
      .join(', ');
    window.alert(r.ok ? a.label + ': done' + (details ? ' (' + details + ')' : '') : a.label + ' failed: ' + (answer.message || r.status));
    poll();
    return r.ok;
  }

  function channelsView() {
    const rows = state.channels.map((c) => {
      const h = history.get(c.name) || [];
      const rin = rates(h, (x) => x.last);
      const rout = rates(h, (x) => x.sent);
      const stalled = (c.subscriptions || []).filter((/** @type {any} */ s) => s.is_stalled).length;
      const name = adminOk ? el('a', { href: '#/messages/' + encodeURIComponent(c.name) }, [c.name]) : c.name;
      return [
        name, String(c.msgs), bytes(c.bytes), String(c.first_seq), String(c.last_seq), String(c.subs_count),
        stalled ? el('span', { class: 'warn' }, [String(stalled)]) : '0',
        el('span', {}, [sparkline(rin, 'in'), ' ', rate(rin)]),
        el('span', {}, [sparkline(rout, 'out'), ' ', rate(rout)]),
        actionButtons('channel', { name: c.name }),
      ];
    });
    return [el('h2', {}, ['Channels']), table(['Channel', 'Msgs', 'Bytes', 'First', 'Last', 'Subs', 'Stalled', 'In msgs/s', 'Out msgs/s', ''], rows, 'channels')];
  }

  function subscriptionsView() {
    const rows = [];
    for (const c of state.channels) {
      for (const s of c.subscriptions || []) {
        rows.push([
          c.name, s.client_id, s.durable_name || '', s.queue_name || '', s.is_offline ? 'offline' : 'online',
          String(s.max_inflight), String(s.ack_wait) + 's', String(s.last_sent), String(s.pending_count),
          s.is_stalled ? el('span', { class: 'warn' }, ['stalled']) : '',
          s.is_durable ? actionButtons('durable', durableVars(c.name, s)) : '',
        ]);
      }
    }
    return [el('h2', {}, ['Subscriptions']), table(['Channel', 'Client', 'Durable', 'Queue', 'State', 'Max inflight', 'Ack wait', 'Last sent', 'Pending', '', ''], rows, 'subscriptions')];
  }

  /**
   * A durable queue group is listed with no durable name and queue "durable:queue"; the reset
   * takes the two apart (the server joins them again, so any ':' inside is kept).
   */
  function durableVars(/** @type {string} */ channel, /** @type {any} */ s) {
    const q = s.queue_name || '';
    const cut = q.indexOf(':');
    const [durable, queue] = s.durable_name || cut < 0 ? [s.durable_name || '', q] : [q.slice(0, cut), q.slice(cut + 1)];
    return { name: channel, client_id: s.client_id, durable, queue };
  }

  function clientsView() {
    const rows = state.clients.map((c) => {
      const subs = Object.entries(c.subscriptions || {}).map(([ch, list]) =>
        ch + ' ×' + /** @type {any[]} */ (list).length + ' (' + /** @type {any[]} */ (list).reduce((a, s) => a + s.pending_count, 0) + ' pending)');
      return [c.id, String(c.subs_count), subs.join(', '), actionButtons('client', { id: c.id })];
    });
    return [el('h2', {}, ['Clients']), table(['Client ID', 'Subs', 'Subscriptions', ''], rows, 'clients')];
  }

  function serverView() {
    const z = state.serverz || {};
    const rin = rates(serverHistory, (x) => x.in);
    const rout = rates(serverHistory, (x) => x.out);
    /** @type {(Node|string)[][]} */
    const kv = [
      ['msgs/s in', el('span', {}, [sparkline(rin, 'in'), ' ', rate(rin)])],
      ['msgs/s out', el('span', {}, [sparkline(rout, 'out'), ' ', rate(rout)])],
      ['FT active (isFTActive)', state.ft ? 'yes' : 'no'],
      ['store health (/readyz)', state.ready && state.ready.status === 200 ? 'ok' : 'not ready: ' + (state.ready && state.ready.error)],
    ];
    for (const k of ['state', 'cluster_id', 'server_id', 'version', 'go', 'start_time', 'uptime', 'clients', 'subscriptions', 'channels', 'total_msgs', 'total_bytes', 'in_msgs', 'in_bytes', 'out_msgs', 'out_bytes', 'open_fds', 'max_fds']) {
      if (z[k] !== undefined) kv.push([k, String(z[k])]);
    }
    return [el('h2', {}, ['Server']), table(['Field', 'Value'], kv, 'server')];
  }

  // ------------------------------------------------------------------ message browser
  let browser = { channel: '', fromSeq: '', mode: 'auto', result: /** @type {any} */ (null), error: '' };

  function b64bytes(/** @type {string} */ b64) {
    const s = atob(b64);
    const u = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    return u;
  }

  function hex(/** @type {Uint8Array} */ u) {
    const lines = [];
    for (let i = 0; i < u.length && i < 512; i += 16) {
      const chunk = Array.from(u.slice(i, i + 16));
      lines.push(i.toString(16).padStart(6, '0') + '  ' + chunk.map((b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(48) + '  ' +
        chunk.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join(''));
    }
    if (u.length > 512) lines.push('… ' + (u.length - 512) + ' more bytes');
    return lines.join('\n');
  }

  /** Payload preview: JSON pretty-printed, else text, else a hex dump. */
  function preview(/** @type {any} */ m, /** @type {string} */ mode) {
    const u = b64bytes(m.data);
    let text = null;
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(u); } catch { text = null; }
    if (mode === 'hex' || (mode === 'auto' && text === null)) return { kind: 'hex', body: hex(u) };
    if (text === null) return { kind: 'hex', body: hex(u) };
    if (mode === 'json' || mode === 'auto') {
      try { return { kind: 'json', body: JSON.stringify(JSON.parse(text), null, 2) }; } catch { if (mode === 'json') return { kind: 'text', body: '(not JSON) ' + text }; }
    }
    return { kind: 'text', body: text };
  }

  /** Whether a message is a dead-letter envelope (the only kind a Requeue can take). */
  function isDeadLetter(/** @type {any} */ m) {
    try {
      const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b64bytes(m.data)));
      return typeof v === 'object' && v !== null && typeof v.channel === 'string' && typeof v.data_base64 === 'string';
    } catch {
      return false;
    }
  }

  async function loadMessages() {
    const q = new URLSearchParams({ limit: '100', encoding: 'base64' });
    if (browser.fromSeq) q.set('from_seq', browser.fromSeq);
    const r = await getJSON('/admin/v1/channels/' + encodeURIComponent(browser.channel) + '/messages?' + q, true);
    browser.result = r.status === 200 ? r.body : null;
    browser.error = r.status === 200 ? '' : (r.body && r.body.message) || 'HTTP ' + r.status;
    render();
  }

  function messagesView() {
    if (!adminOk) return [el('h2', {}, ['Messages']), el('p', {}, ['Enter the admin token above to browse messages.'])];
    const sel = el('select', { id: 'msg-channel' }, state.channels.map((c) => el('option', { value: c.name }, [c.name])));
    /** @type {HTMLSelectElement} */ (sel).value = browser.channel;
    const from = el('input', { id: 'msg-from', placeholder: 'from seq', size: '8', value: browser.fromSeq });
    const mode = el('select', { id: 'msg-mode' }, ['auto', 'text', 'json', 'hex'].map((m) => el('option', { value: m }, [m])));
    /** @type {HTMLSelectElement} */ (mode).value = browser.mode;
    const go = el('button', { id: 'msg-load' }, ['Load']);
    go.addEventListener('click', () => {
      browser.channel = /** @type {HTMLSelectElement} */ (sel).value;
      browser.fromSeq = /** @type {HTMLInputElement} */ (from).value.trim();
      location.hash = '#/messages/' + encodeURIComponent(browser.channel);
      loadMessages();
    });
    mode.addEventListener('change', () => { browser.mode = /** @type {HTMLSelectElement} */ (mode).value; render(); });
    const out = [el('h2', {}, ['Messages']), el('div', { class: 'toolbar' }, ['Channel ', sel, ' ', from, ' preview ', mode, ' ', go])];
    if (browser.error) out.push(el('p', { class: 'error' }, [browser.error]));
    const r = browser.result;
    if (r && r.channel === browser.channel) {
      out.push(el('p', { class: 'muted' }, [`${r.channel}: sequences ${r.first_seq}–${r.last_seq}, showing ${r.count}` + (r.next_seq ? `, next from ${r.next_seq}` : '')]));
      const rows = r.messages.map((/** @type {any} */ m) => {
        const p = preview(m, browser.mode);
        return [String(m.seq), new Date(m.timestamp).toLocaleString(), m.subject, String(m.size), el('pre', { class: 'payload ' + p.kind }, [p.body]),
          isDeadLetter(m) ? actionButtons('message', { name: r.channel, seq: String(m.seq) }) : ''];
      });
      out.push(table(['Seq', 'Time', 'Subject', 'Size', 'Payload', ''], rows, 'messages'));
    }
    return out;
  }

  // ------------------------------------------------------------------ render
  function bytes(/** @type {number} */ n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }

  function render() {
    const z = state.serverz || {};
    $('server-id').textContent = (z.cluster_id || '') + ' · v' + (z.version || '');
    $('server-id').title = 'server ID ' + (z.server_id || '');
    $('role').textContent = z.state || '?';
    $('role').className = 'badge ' + (z.state === 'FT_STANDBY' ? 'warn' : 'ok');
    const ok = state.ready && state.ready.status === 200;
    $('health').textContent = ok ? 'store ok' : 'not ready';
    $('health').className = 'badge ' + (ok ? 'ok' : 'bad');
    if (state.ready && !ok) $('health').title = state.ready.error || '';
    $('totals').textContent = `${z.channels ?? 0} channels · ${z.total_msgs ?? 0} msgs · ${bytes(z.total_bytes ?? 0)} · ${z.clients ?? 0} clients · ${z.subscriptions ?? 0} subscriptions · uptime ${z.uptime ?? ''}`;
    $('nav-messages').hidden = !adminOk;
    $('token-clear').hidden = !token;
    const route = location.hash.replace(/^#\//, '').split('/');
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.getAttribute('href') === '#/' + route[0]);
    let nodes;
    switch (route[0]) {
      case 'subscriptions': nodes = subscriptionsView(); break;
      case 'clients': nodes = clientsView(); break;
      case 'server': nodes = serverView(); break;
      case 'messages':
        if (route[1] !== undefined && browser.channel !== decodeURIComponent(route[1])) {
          browser = { ...browser, channel: decodeURIComponent(route[1]), result: null, error: '' };
          if (adminOk) loadMessages();
        }
        if (!browser.channel && state.channels[0]) browser.channel = state.channels[0].name;
        nodes = messagesView();
        break;
      default: nodes = channelsView();
    }
    // Keep the message browser's inputs while polling re-renders.
    const focused = document.activeElement && document.activeElement.id;
    $('view').replaceChildren(...nodes);
    if (focused) { const f = document.getElementById(focused); if (f) f.focus(); }
  }

  // ------------------------------------------------------------------ admin token
  async function checkToken() {
    adminOk = false;
    const doc = await getJSON('/admin/v1/openapi.json');
    adminPaths = new Set();
    if (doc.status === 200) {
      for (const [p, ops] of Object.entries(doc.body.paths || {})) for (const m of Object.keys(ops)) adminPaths.add(m + ' ' + p);
    }
    if (!token) { $('token-state').textContent = ''; render(); return; }
    const r = await getJSON('/admin/v1/clients?limit=1', true);
    adminOk = r.status === 200;
    $('token-state').textContent = adminOk ? 'admin: ok' : 'admin: ' + ((r.body && r.body.message) || 'HTTP ' + r.status);
    $('token-state').className = adminOk ? 'ok-text' : 'error';
    if (browser.channel && adminOk && location.hash.startsWith('#/messages')) loadMessages();
    render();
  }

  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($('token'));
    token = input.value.trim();
    input.value = '';
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    checkToken();
  });
  $('token-clear').addEventListener('click', () => {
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    checkToken();
  });
  window.addEventListener('hashchange', () => { closeForm(); render(); });
  $('interval').textContent = String(POLL_MS / 1000);
  checkToken();
  poll();
  setInterval(poll, POLL_MS);
})();
