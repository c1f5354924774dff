/**
 * Embedded NATS server keys, read from the top level (spec stan §5.6, nats-core §5).
 * Unknown-key warnings for the top level are emitted by the caller, once for both modules.
 */
import { confToPlain } from '../natsconf';
import { asBool as bool, asList as list, asNumber as num, asString as str } from '../values';
import { applyAuthorization } from './authorization';
import { applyKeys, handled, key, mark, type ApplyContext, type HandledKey } from './keyspec';
import type { ConfReader } from './reader';
import { applyServerTLS } from './tls';

/** `listen: "host:port"`, `"port"` or a bare port number. */
function hostPort(sec: ConfReader, k: string): { host?: string; port: number } {
  const v = sec.get(k);
  if (typeof v === 'number' && Number.isInteger(v)) return { port: v };
  if (typeof v !== 'string') throw sec.typeError(k, 'string', v);
  const idx = v.lastIndexOf(':');
  const portStr = idx >= 0 ? v.slice(idx + 1) : v;
  const host = idx >= 0 ? v.slice(0, idx).replace(/^\[(.*)\]$/, '$1') : undefined;
  if (!/^\d+$/.test(portStr)) throw sec.error(k, `could not parse ${JSON.stringify(k)} address ${JSON.stringify(v)}: invalid port`);
  return { host, port: Number(portStr) };
}

/** A `host:port` key setting one of the listener ports (and the monitoring host for http/https). */
function listener(name: 'listen' | 'http' | 'https'): HandledKey {
  return handled([name], (ctx, sec, k) => {
    const n = ctx.opts.nats;
    const { host, port } = hostPort(sec, k);
    if (name === 'listen') {
      if (host !== undefined) n.host = host;
      n.port = port;
      mark(ctx, 'addr', 'port');
    } else if (name === 'http') {
      if (host !== undefined) n.httpHost = host;
      n.httpPort = port;
      mark(ctx, 'http_port');
    } else {
      if (host !== undefined) n.httpHost = host;
      n.httpsPort = port;
      mark(ctx, 'https_port');
    }
  });
}

const LISTEN_KEYS = [
  key(['host', 'net'], 'string', 'addr', (o, v) => { o.nats.host = str(v); }),
  listener('listen'),
  key(['port'], 'int', 'port', (o, v) => { o.nats.port = num(v); }),
  listener('http'),
  key(['http_port', 'monitor_port'], 'int', 'http_port', (o, v) => { o.nats.httpPort = num(v); }),
  listener('https'),
  key(['https_port'], 'int', 'https_port', (o, v) => { o.nats.httpsPort = num(v); }),
  handled(['tls'], (ctx, sec, k) => applyServerTLS(ctx, sec.sub(k))),
];

const LOGGING_KEYS = [
  key(['pid_file', 'pidfile'], 'string', 'pid', (o, v) => { o.nats.pidFile = str(v); }),
  key(['log_file', 'logfile'], 'string', 'log', (o, v) => { o.nats.logFile = str(v); }),
  key(['logtime'], 'bool', 'logtime', (o, v) => { o.nats.logtime = bool(v); }),
  key(['debug'], 'bool', 'debug', (o, v) => { o.nats.debug = bool(v); }),
  key(['trace'], 'bool', 'trace', (o, v) => { o.nats.trace = bool(v); }),
  key(['syslog'], 'bool', 'syslog', (o, v) => { o.nats.syslog = bool(v); }),
  key(['remote_syslog'], 'string', 'remote_syslog', (o, v) => { o.nats.remoteSyslog = str(v); }),
];

const AUTH_KEYS = [
  handled(['authorization'], (ctx, sec, k) => applyAuthorization(ctx, sec.sub(k))),
  key(['no_auth_user'], 'string', 'no_auth_user', (o, v) => { o.nats.noAuthUser = str(v); }),
];

const CLUSTER_KEYS = [
  handled(['cluster'], (ctx, sec, k) => {
    const c = sec.sub(k);
    ctx.opts.nats.clusterBlock = confToPlain(c.map) as Record<string, unknown>;
    mark(ctx, 'cluster');
    for (const ck of c.keys()) {
      if (ck.toLowerCase() === 'routes') {
        ctx.opts.nats.routes = c.strList(ck);
        mark(ctx, 'routes');
      }
    }
  }),
  key(['routes'], 'stringList', 'routes', (o, v) => { o.nats.routes = list(v); }),
];

const LIMIT_KEYS = [
  key(['max_payload'], 'size', 'max_payload', (o, v) => { o.nats.maxPayload = num(v); }),
  key(['max_control_line'], 'size', 'max_control_line', (o, v) => { o.nats.maxControlLine = num(v); }),
  key(['max_pending'], 'size', 'max_pending', (o, v) => { o.nats.maxPending = num(v); }),
  key(['max_connections', 'max_conn'], 'int', 'max_connections', (o, v) => { o.nats.maxConnections = num(v); }),
  key(['max_subscriptions', 'max_subs'], 'int', 'max_subscriptions', (o, v) => { o.nats.maxSubscriptions = num(v); }),
  key(['ping_interval'], 'durationOrSeconds', 'ping_interval', (o, v) => { o.nats.pingInterval = num(v); }),
  key(['ping_max'], 'int', 'ping_max', (o, v) => { o.nats.pingMax = num(v); }),
  key(['write_deadline'], 'durationOrSeconds', 'write_deadline', (o, v) => { o.nats.writeDeadline = num(v); }),
  key(['nats_server_bin'], 'string', 'nats_server_bin', (o, v) => { o.nats.natsServerBin = str(v); }),
];

const NATS_KEYS = [...LISTEN_KEYS, ...LOGGING_KEYS, ...AUTH_KEYS, ...CLUSTER_KEYS, ...LIMIT_KEYS];

export function applyNats(ctx: ApplyContext, sec: ConfReader): void {
  applyKeys(ctx, sec, NATS_KEYS, () => undefined);
}
