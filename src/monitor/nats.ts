/**
 * The embedded NATS server's own monitoring endpoints (nats-core spec §6): /varz, /connz,
 * /subsz (alias /subscriptionsz), /routez, and /healthz, /readyz.
 *
 * With an external NATS (`-ns`), the NATS endpoints belong to that server's own monitor:
 * ours answer 404 `NATS monitoring is served by the external NATS server`, so no tool reads
 * numbers that describe nothing. /healthz and /readyz work in both modes.
 */
import * as os from 'node:os';
import type { NatsServerOptions } from '../config/options';
import type { EmbeddedNatsServer } from '../nats/embedded';
import type { ConnectionStats } from '../nats/embedded';
import { tlsRequired, tlsTimeoutMs } from '../nats/embedded';
import { subjectMatches } from '../subject';
import { parseGoBool } from '../config/goflags';
import { atoi, nowString, offsetAndLimit, page, rfc3339Nano, uptime, type MonitorHttpServer, type RouteResult } from './http';

const MS_TO_NS = 1_000_000;
const GO_VERSION = 'go1.21.0';

export const EXTERNAL_NATS_TEXT = 'NATS monitoring is served by the external NATS server';

export function varz(ns: EmbeddedNatsServer, o: NatsServerOptions, reqStats: Record<string, number>): Record<string, unknown> {
  const st = ns.stats();
  const mem = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const upMs = Date.now() - st.start.getTime();
  const out: Record<string, unknown> = {
    server_id: st.serverId,
    server_name: st.serverName,
    version: st.version,
    proto: 1,
    go: GO_VERSION,
    host: o.host,
    port: ns.port,
  };
  // As the INFO clients get (no_auth_user leaves it out).
  if (ns.authRequired) out.auth_required = true;
  if (tlsRequired(o)) {
    out.tls_required = true;
    if (o.tlsVerify) out.tls_verify = true;
  }
  Object.assign(out, {
    max_connections: o.maxConnections,
    ping_interval: o.pingInterval * MS_TO_NS,
    ping_max: o.pingMax,
    http_host: o.httpHost,
    http_port: o.httpPort,
    http_base_path: '',
    https_port: o.httpsPort,
    auth_timeout: o.authTimeout / 1000,
    max_control_line: o.maxControlLine,
    max_payload: o.maxPayload,
    max_pending: o.maxPending,
    tls_timeout: tlsTimeoutMs(o) / 1000,
    write_deadline: o.writeDeadline * MS_TO_NS,
    start: rfc3339Nano(st.start),
    now: nowString(),
    uptime: uptime(upMs),
    mem,
    cores: os.cpus().length,
    gomaxprocs: os.cpus().length,
    cpu: upMs > 0 ? Math.round(((cpu.user + cpu.system) / 1000 / upMs) * 1000) / 10 : 0,
    connections: st.connections,
    total_connections: st.totalConnections,
    routes: 0,
    remotes: 0,
    leafnodes: 0,
    in_msgs: st.inMsgs,
    out_msgs: st.outMsgs,
    in_bytes: st.inBytes,
    out_bytes: st.outBytes,
    slow_consumers: st.slowConsumers,
    subscriptions: st.subscriptions,
    http_req_stats: { ...reqStats },
    config_load_time: rfc3339Nano(st.start),
  });
  if (o.maxSubscriptions > 0) out.max_subscriptions = o.maxSubscriptions;
  return out;
}

function connInfo(c: ConnectionStats, now: number, subs: string): Record<string, unknown> {
  const z: Record<string, unknown> = {
    cid: c.cid,
    kind: 'Client',
    type: 'nats',
    ip: c.ip,
    port: c.port,
    start: rfc3339Nano(c.start),
    last_activity: rfc3339Nano(c.lastActivity),
  };
  if (c.stop) z.stop = rfc3339Nano(c.stop);
  if (c.reason) z.reason = c.reason;
  Object.assign(z, {
    rtt: '0s',
    uptime: uptime((c.stop?.getTime() ?? now) - c.start.getTime()),
    idle: uptime(now - c.lastActivity.getTime()),
    pending_bytes: c.pendingBytes,
    in_msgs: c.inMsgs,
    out_msgs: c.outMsgs,
    in_bytes: c.inBytes,
    out_bytes: c.outBytes,
    subscriptions: c.subscriptions,
  });
  if (c.name) z.name = c.name;
  if (c.lang) z.lang = c.lang;
  if (c.version) z.version = c.version;
  if (c.tlsVersion) z.tls_version = c.tlsVersion;
  if (c.tlsCipher) z.tls_cipher_suite = c.tlsCipher;
  if (subs === 'detail') {
    if (c.subscriptionsList.length > 0) {
      z.subscriptions_list_detail = c.subscriptionsList.map((s) => ({
        subject: s.subject,
        ...(s.queue ? { qgroup: s.queue } : {}),
        sid: s.sid,
        msgs: s.msgs,
        ...(s.max > 0 ? { max: s.max } : {}),
        cid: c.cid,
      }));
    }
  } else if (subs === 'true') {
    if (c.subscriptionsList.length > 0) z.subscriptions_list = c.subscriptionsList.map((s) => s.subject);
  }
  return z;
}

const SORTS = new Set(['cid', 'start', 'subs', 'pending', 'msgs_to', 'msgs_from', 'bytes_to', 'bytes_from', 'last', 'idle', 'uptime', 'stop', 'reason', 'rtt']);

export function connz(ns: EmbeddedNatsServer, q: URLSearchParams): RouteResult {
  const sort = q.get('sort') ?? 'cid';
  if (sort !== '' && !SORTS.has(sort)) return { status: 400, text: `invalid sorting option: ${sort}` };
  let subs = 'false';
  const subsQ = q.get('subs');
  if (subsQ !== null && subsQ !== '') {
    if (subsQ === 'detail') subs = 'detail';
    else {
      const b = parseGoBool(subsQ);
      if (b === undefined) return { status: 400, text: `Error decoding boolean for 'subs': strconv.ParseBool: parsing "${subsQ}": invalid syntax` };
      subs = b ? 'true' : 'false';
    }
  }
  const stateQ = q.get('state') ?? 'open';
  let conns: ConnectionStats[];
  if (stateQ === 'open' || stateQ === '') conns = ns.connections().filter((c) => c.kind === 'client');
  else if (stateQ === 'closed') conns = [...ns.closedConnections()];
  else if (stateQ === 'any' || stateQ === 'all') conns = [...ns.connections().filter((c) => c.kind === 'client'), ...ns.closedConnections()];
  else return { status: 400, text: `Error decoding state for ${stateQ}` };
  if (sort === 'stop' && stateQ !== 'closed') return { status: 400, text: 'sort by stop only valid on closed connections' };
  const cidQ = atoi(q.get('cid'));
  if (cidQ > 0) conns = conns.filter((c) => c.cid === cidQ);
  const now = Date.now();
  const desc = <T>(f: (c: ConnectionStats) => T) => (a: ConnectionStats, b: ConnectionStats) => {
    const x = f(a), y = f(b);
    return x < y ? 1 : x > y ? -1 : 0;
  };
  const cmp: Record<string, (a: ConnectionStats, b: ConnectionStats) => number> = {
    cid: (a, b) => a.cid - b.cid,
    start: (a, b) => a.start.getTime() - b.start.getTime(),
    subs: desc((c) => c.subscriptions),
    pending: desc((c) => c.pendingBytes),
    msgs_to: desc((c) => c.outMsgs),
    msgs_from: desc((c) => c.inMsgs),
    bytes_to: desc((c) => c.outBytes),
    bytes_from: desc((c) => c.inBytes),
    last: desc((c) => c.lastActivity.getTime()),
    idle: desc((c) => now - c.lastActivity.getTime()),
    uptime: desc((c) => (c.stop?.getTime() ?? now) - c.start.getTime()),
    stop: desc((c) => c.stop?.getTime() ?? 0),
    reason: desc((c) => c.reason ?? ''),
    rtt: (a, b) => a.cid - b.cid,
  };
  conns.sort(cmp[sort === '' ? 'cid' : sort]);
  const { offset, limit } = offsetAndLimit(q);
  const sel = page(conns, offset, limit);
  return {
    json: {
      server_id: ns.serverId,
      now: nowString(),
      num_connections: sel.length,
      total: conns.length,
      offset,
      limit,
      connections: sel.map((c) => connInfo(c, now, subs)),
    },
  };
}

export function subsz(ns: EmbeddedNatsServer, q: URLSearchParams): RouteResult {
  const st = ns.stats().sublist;
  const out: Record<string, unknown> = {
    server_id: ns.serverId,
    now: nowString(),
    num_subscriptions: st.numSubscriptions,
    num_cache: st.numCache,
    num_inserts: st.numInserts,
    num_removes: st.numRemoves,
    num_matches: st.numMatches,
    cache_hit_rate: st.cacheHitRate,
    max_fanout: st.maxFanout,
    avg_fanout: st.avgFanout,
  };
  const subsQ = q.get('subs');
  const withSubs = subsQ !== null && parseGoBool(subsQ) === true;
  let all: Record<string, unknown>[] = [];
  for (const c of ns.connections()) {
    for (const s of c.subscriptionsList) {
      all.push({ subject: s.subject, ...(s.queue ? { qgroup: s.queue } : {}), sid: s.sid, msgs: s.msgs, ...(s.max > 0 ? { max: s.max } : {}), cid: c.cid });
    }
  }
  const test = q.get('test');
  if (test) all = all.filter((s) => subjectMatches(String(s.subject), test));
  const { offset, limit } = offsetAndLimit(q);
  out.total = all.length;
  out.offset = offset;
  out.limit = limit;
  if (withSubs) out.subscriptions_list = page(all, offset, limit);
  return { json: out };
}

/** Registers the NATS endpoints; `ns` undefined = external NATS (404 with a reason). */
export function registerNatsRoutes(http: MonitorHttpServer, ns: EmbeddedNatsServer | undefined, o: NatsServerOptions): void {
  const external = (): RouteResult => ({ status: 404, text: EXTERNAL_NATS_TEXT });
  http.handle('/', () => ({
    status: 200,
    html: `<html lang="en">
  <head><title>NATS Streaming Server</title></head>
  <body>
    <a href=/varz>varz</a><br/>
    <a href=/connz>connz</a><br/>
    <a href=/subsz>subsz</a><br/>
    <a href=/routez>routez</a><br/>
    <a href=/healthz>healthz</a><br/>
    <a href=/readyz>readyz</a><br/>
    <a href=/streaming>streaming</a><br/>
  </body>
</html>
`,
  }));
  http.handle('/varz', () => (ns ? { json: varz(ns, o, http.reqStats) } : external()));
  http.handle('/connz', (q) => (ns ? connz(ns, q) : external()));
  const sz = (q: URLSearchParams): RouteResult => (ns ? subsz(ns, q) : external());
  http.handle('/subsz', sz);
  http.handle('/subscriptionsz', sz);
  http.handle('/routez', () =>
    ns ? { json: { server_id: ns.serverId, server_name: ns.stats().serverName, now: nowString(), num_routes: 0, routes: [] } } : external(),
  );
}

/**
 * /healthz: the process is up and answering (200 `{"status":"ok"}`).
 * /readyz: 200 `{"status":"ok"}` when this server serves clients (store open and its
 * database answering with commits succeeding, and in FT the active server); otherwise 503 `{"status":"unavailable","status_code":503,"error":"…"}`,
 * the shape nats-server uses for an unhealthy /healthz.
 */
export function registerHealthRoutes(http: MonitorHttpServer, notReady: () => Promise<string | undefined>): void {
  http.handle('/healthz', () => ({ json: { status: 'ok' } }));
  http.handle('/readyz', async () => {
    const why = await notReady();
    if (why === undefined) return { json: { status: 'ok' } };
    return { status: 503, json: { status: 'unavailable', status_code: 503, error: why } };
  });
}
