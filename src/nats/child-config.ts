/**
 * Configuration of the nats-server child that serves the embedded NATS role when NATS
 * cluster routes are asked for (`--cluster`, `--routes`, a `cluster { }` block): we do not
 * implement the route protocol, a real nats-server does (nats-core spec §7).
 *
 * This module is pure: it decides whether a child is needed, translates our
 * {@link NatsServerOptions} into a nats-server configuration (JSON, which the nats-server
 * configuration parser accepts as it is), and derives the credentials and TLS settings the
 * streaming server's own client connection needs to get into that server.
 */
import type { ServerOptions, NatsServerOptions, NatsPermissions, StreamingOptions, SubjectPermission } from '../config/options';
import { redactURL } from './redact-url';
import { tlsRequired } from './embedded/tls';
import { StanServerError } from '../errors';

export class ChildNatsConfigError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ChildNatsConfigError';
  }
}

/** True when the NATS cluster options are given (and the streaming server runs its own NATS). */
export function wantsChildNatsServer(o: ServerOptions): boolean {
  const n = o.nats;
  const clusterAsked = n.routes.length > 0 || n.cluster !== '' || n.clusterBlock !== undefined;
  if (!clusterAsked) return false;
  if (o.streaming.natsServerURL !== '') {
    // The reference silently ignores embedded-NATS options with -ns; an operator who asked
    // for routes must not believe they exist.
    throw new ChildNatsConfigError(
      'the NATS cluster options (--cluster, --routes, cluster { }) configure the embedded NATS server and have no ' +
        'effect with -ns/--nats_server: configure the routes on the external NATS server instead, or remove -ns',
    );
  }
  return true;
}

/** `nats://[user:pass@]host:port` → its parts (the `--cluster` flag, as nats-server reads it). */
export function parseClusterURL(url: string): { host: string; port: number; user?: string; pass?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ChildNatsConfigError(`--cluster ${JSON.stringify(redactURL(url))}: not a URL; expected nats://host:port (e.g. nats://0.0.0.0:6222)`);
  }
  const port = u.port === '' ? NaN : Number(u.port);
  if (u.hostname === '' || !Number.isInteger(port)) {
    throw new ChildNatsConfigError(`--cluster ${JSON.stringify(redactURL(url))}: expected nats://host:port with an explicit port (e.g. nats://0.0.0.0:6222)`);
  }
  const out: { host: string; port: number; user?: string; pass?: string } = { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
  if (u.username !== '') {
    out.user = decodeURIComponent(u.username);
    out.pass = decodeURIComponent(u.password);
  }
  return out;
}

/** Go duration text for ms (nats-server accepts "1m30s", "250ms"). */
function goDurationText(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The nats-server configuration for `n`. `monitor`: also open nats-server's HTTP monitor on
 * a random loopback port, proxied by our own monitor (see src/monitor/nats-proxy.ts).
 */
export function buildChildConfig(n: NatsServerOptions, opts: { monitor: boolean }): Record<string, unknown> {
  const conf: Record<string, unknown> = {
    host: n.host === '' ? '0.0.0.0' : n.host,
    // 0 means "any free port" to our embedded server; -1 says the same to nats-server.
    port: n.port === 0 ? -1 : n.port,
    max_payload: n.maxPayload,
    max_control_line: n.maxControlLine,
    max_pending: n.maxPending,
    max_connections: n.maxConnections,
    ping_interval: goDurationText(n.pingInterval),
    ping_max: n.pingMax,
    write_deadline: goDurationText(n.writeDeadline),
    // Its lines are re-logged through our logger, which adds our own timestamps and levels.
    logtime: false,
    debug: n.debug,
    trace: n.trace,
  };
  if (n.maxSubscriptions > 0) conf.max_subscriptions = n.maxSubscriptions;
  if (opts.monitor) conf.http = '127.0.0.1:-1';

  const auth = authorizationBlock(n);
  if (auth !== undefined) conf.authorization = auth;
  if (n.noAuthUser !== '') conf.no_auth_user = n.noAuthUser;
  if (n.tls || n.tlsVerify || n.tlsCert !== '' || n.tlsKey !== '') conf.tls = tlsBlock(n);
  conf.cluster = clusterBlock(n);
  return conf;
}

function authorizationBlock(n: NatsServerOptions): Record<string, unknown> | undefined {
  const a: Record<string, unknown> = {};
  if (n.users.length > 0) {
    a.users = n.users.map((u) => {
      const e: Record<string, unknown> = { user: u.user, password: u.password };
      if (u.permissions !== undefined) e.permissions = childPermissions(u.permissions);
      return e;
    });
    if (n.defaultPermissions !== undefined) a.default_permissions = childPermissions(n.defaultPermissions);
  } else if (n.username !== '') {
    a.user = n.username;
    a.password = n.password;
  } else if (n.authorization !== '') {
    a.token = n.authorization;
  } else {
    return undefined;
  }
  a.timeout = n.authTimeout / 1000;
  return a;
}

/**
 * Our parsed permissions in nats-server's configuration syntax. Written out field by field:
 * our internal shape is not nats-server's (`allow: null` = no allow list, which nats-server
 * would read as "allow nothing"; `allowResponses` with ms), and an empty allow list means
 * "no allow list" to us (spec nats-core §5.2), so it is left out as well.
 */
export function childPermissions(p: NatsPermissions): Record<string, unknown> {
  const subject = (sp: SubjectPermission): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    // Embedders may build permissions by hand and leave a list out: treat missing as empty.
    const allow: readonly string[] = Array.isArray(sp.allow) ? sp.allow : [];
    const deny: readonly string[] = Array.isArray(sp.deny) ? sp.deny : [];
    if (allow.length > 0) o.allow = [...allow];
    if (deny.length > 0) o.deny = [...deny];
    return o;
  };
  const out: Record<string, unknown> = {};
  if (p.publish !== undefined) out.publish = subject(p.publish);
  if (p.subscribe !== undefined) out.subscribe = subject(p.subscribe);
  if (p.allowResponses !== undefined) {
    out.allow_responses = { max: p.allowResponses.max, expires: goDurationText(p.allowResponses.expires) };
  }
  return out;
}

function tlsBlock(n: NatsServerOptions): Record<string, unknown> {
  if (n.tlsCert === '' || n.tlsKey === '') {
    throw new ChildNatsConfigError('TLS for the NATS server needs both a certificate and a key: give --tlscert and --tlskey (or cert_file and key_file in the tls { } block)');
  }
  const t: Record<string, unknown> = { cert_file: n.tlsCert, key_file: n.tlsKey, timeout: n.tlsTimeout / 1000 };
  if (n.tlsCaCert !== '') t.ca_file = n.tlsCaCert;
  if (n.tlsVerify) t.verify = true;
  return t;
}

/**
 * The raw `cluster { }` block as written (nats-server validates its keys), with the listen
 * address of `--cluster` and the route list of `--routes` (or of the block) on top.
 */
function clusterBlock(n: NatsServerOptions): Record<string, unknown> {
  const c: Record<string, unknown> = { ...(n.clusterBlock ?? {}) };
  if (n.cluster !== '') {
    const u = parseClusterURL(n.cluster);
    // Keys that would contradict --cluster's listen address.
    for (const k of Object.keys(c)) {
      if (['listen', 'host', 'net', 'port'].includes(k.toLowerCase())) delete c[k];
    }
    c.listen = hostPort(u.host, u.port);
    // As nats-server does with -cluster nats://user:pass@host:port: the route credentials.
    if (u.user !== undefined) c.authorization = { user: u.user, password: u.pass ?? '' };
  }
  for (const k of Object.keys(c)) if (k.toLowerCase() === 'routes') delete c[k];
  if (n.routes.length > 0) c.routes = [...n.routes];
  return c;
}

/** How the streaming server's own connection authenticates to the child. */
export interface ChildClientAuth {
  user?: string;
  pass?: string;
  token?: string;
}

/**
 * The streaming server's credentials: its own (`username`/`password`/`token` of the
 * streaming configuration) when given, else the single user or token the NATS server
 * requires. A `users` list has no "the" user: the streaming server's own must be named.
 */
export function childClientAuth(n: NatsServerOptions, s: StreamingOptions): ChildClientAuth {
  if (s.natsUser !== '') return { user: s.natsUser, pass: s.natsPassword };
  if (s.natsToken !== '') return { token: s.natsToken };
  if (n.users.length > 0) {
    throw new ChildNatsConfigError(
      'the NATS authorization has a users list: name the user the streaming server connects as with ' +
        'username and password in the streaming { } configuration block',
    );
  }
  if (n.username !== '') return { user: n.username, pass: n.password };
  if (n.authorization !== '') return { token: n.authorization };
  return {};
}

/** TLS files of the streaming server's own connection, when the child requires TLS. */
export interface ChildClientTLS {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/**
 * With TLS on the NATS port the streaming server verifies the child's certificate with the
 * client CA (`-tls_client_cacert`), else the CA of `--tlscacert`, else the system CAs; with
 * `--tlsverify` it must present its own certificate (`-tls_client_cert`/`-tls_client_key`).
 */
export function childClientTLS(n: NatsServerOptions, s: StreamingOptions): ChildClientTLS | undefined {
  if (!tlsRequired(n)) return undefined;
  const t: ChildClientTLS = {};
  const ca = s.tls.clientCA !== '' ? s.tls.clientCA : n.tlsCaCert;
  if (ca !== '') t.caFile = ca;
  if (s.tls.clientCert !== '' || s.tls.clientKey !== '') {
    t.certFile = s.tls.clientCert;
    t.keyFile = s.tls.clientKey;
  } else if (n.tlsVerify) {
    throw new ChildNatsConfigError(
      '--tlsverify makes the NATS server require client certificates, the streaming server\'s own connection ' +
        'included: give it one with -tls_client_cert and -tls_client_key',
    );
  }
  return t;
}
