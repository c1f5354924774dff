/**
 * NatsTransport over an external NATS server (`-ns nats://host:port`), using the `nats`
 * (nats.js v2) client. Loaded lazily so the embedded-server start-up path never pays for
 * importing the client library.
 */
export { externalConnectOptions, ExternalNatsConfigError, type ExternalConnectOptions } from './external-options';
import type { ConnectionOptions, Msg, NatsConnection, NatsError, TlsOptions } from 'nats';
import type { ConnectionOptions as NodeTlsOptions } from 'node:tls';
import type { Logger } from '../logging/logger';
import { ExternalNatsConfigError, parseNatsURLs, type ExternalConnectOptions } from './external-options';
import { redactURL } from './redact-url';
import { ClusterStandby } from './cluster-standby';
import {
  NoRespondersError,
  NotConnectedError,
  RequestTimeoutError,
  type MsgHandler,
  type NatsTransport,
  type SubscribeOptions,
  type TransportSubscription,
} from './transport';
import { errorText } from '../errors';

// nats.js ErrorCode values (strings), compared directly so this module needs no runtime
// import of the enum.
const CODE_TIMEOUT = 'TIMEOUT';
const CODE_NO_RESPONDERS = '503';
/** Per-attempt connection timeout (the Go client uses 2 s; a little more for busy hosts). */
const CONNECT_TIMEOUT_MS = 5000;

function errCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Connection state as the status events report it (nats.js exposes no synchronous flag). */
interface LinkState {
  connected: boolean;
}

class ExternalTransport implements NatsTransport {
  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
    private readonly makeInbox: () => string,
    private readonly link: LinkState,
    private readonly standby: ClusterStandby | undefined,
  ) {}

  get closed(): boolean {
    return this.nc.isClosed();
  }

  publish(subject: string, data: Uint8Array, reply?: string): void {
    if (this.nc.isClosed()) return;
    try {
      // The answer to a request the standby received goes back the way it came (cluster-standby.ts).
      if (reply === undefined && this.standby?.answer(subject, data) === true) return;
      // While the main connection is away, nats.js would drop this (its buffer is reset on
      // each reconnect attempt): e.g. the answer to a connect request the standby received.
      if (!this.link.connected && this.standby?.publish(subject, data, reply) === true) return;
      // Only build an options object when there is a reply to carry.
      if (reply === undefined) this.nc.publish(subject, data);
      else this.nc.publish(subject, data, { reply });
    } catch (err) {
      // The contract says publish never throws (e.g. closed/draining or max payload).
      this.logger.error(`nats: publish to ${subject} failed: ${(err as Error).message}`);
    }
  }

  subscribe(subject: string, handler: MsgHandler, opts?: SubscribeOptions): TransportSubscription {
    const logger = this.logger;
    const callback = (err: NatsError | null, msg: Msg): void => {
      if (err !== null) {
        logger.error(`nats: subscription on ${subject}: ${err.message}`);
        return;
      }
      // nats.js reports "no reply" as an empty string.
      handler(msg.subject, msg.reply === '' || msg.reply === undefined ? undefined : msg.reply, msg.data);
    };
    const standby = opts?.clusterStandby === true ? this.standby : undefined;
    if (standby === undefined) return this.nc.subscribe(subject, { queue: opts?.queue, callback });
    // One queue group over both connections: each request is handled once.
    const main = this.nc.subscribe(subject, { queue: standby.queue, callback });
    const second = standby.add(subject, callback);
    return {
      unsubscribe: () => {
        main.unsubscribe();
        second.unsubscribe();
      },
    };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (!this.link.connected) throw new NotConnectedError(subject);
    try {
      const m = await this.nc.request(subject, data, { timeout: timeoutMs });
      return m.data;
    } catch (err) {
      const code = errCode(err);
      if (code === CODE_TIMEOUT) throw new RequestTimeoutError(subject);
      if (code === CODE_NO_RESPONDERS) throw new NoRespondersError(subject);
      throw err;
    }
  }

  newInbox(): string {
    return this.makeInbox();
  }

  flush(): Promise<void> {
    return this.nc.flush();
  }

  async close(): Promise<void> {
    await this.standby?.close();
    if (!this.nc.isClosed()) await this.nc.close();
  }

  onServersAdded(handler: () => void): TransportSubscription {
    // Each status() call is an independent listener, ended by stop().
    const it = this.nc.status();
    let stopped = false;
    void (async () => {
      try {
        for await (const s of it) {
          if (stopped) break;
          if (s.type !== 'update' || typeof s.data !== 'object' || s.data === null) continue;
          if ('added' in s.data && s.data.added.length > 0) handler();
        }
      } catch {
        // the connection closed: nothing more to watch
      }
    })();
    return {
      unsubscribe: () => {
        stopped = true;
        (it as { stop?: () => void }).stop?.();
      },
    };
  }
}

/**
 * Connects to the external NATS server(s). `urls` may carry credentials
 * (`nats://user:pass@host`, `nats://token@host`); those win over `opts` user/pass/token, as
 * in the Go client. Start-up fails when no server can be reached or the server refuses us;
 * afterwards the connection reconnects forever (see watchStatus for the log lines).
 */
export async function connectExternal(
  urls: string[],
  opts: ExternalConnectOptions,
  logger: Logger,
  /** Keep `clusterStandby` subscriptions on a second cluster member too (cluster-standby.ts). */
  features: { clusterStandby?: boolean } = {},
): Promise<NatsTransport> {
  const nats = await import('nats');
  const parsed = parseNatsURLs(urls);
  const co: ConnectionOptions = {
    servers: parsed.servers,
    name: opts.name,
    // As the reference: reconnect forever, every 250 ms (no first-connect retry: a start-up
    // without a reachable NATS server fails) ...
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // A server that silently drops us (e.g. refusing our TLS client certificate after a
    // TLS 1.3 handshake) would otherwise hold the start-up for nats.js's default 20 s.
    timeout: CONNECT_TIMEOUT_MS,
    // ... even when a server refuses our credentials for a while (e.g. during a
    // credentials rotation), instead of giving up after two refusals.
    ignoreAuthErrorAbort: true,
  };
  const cred = parsed.credentials ?? opts;
  if (cred.user !== undefined && cred.user !== '') {
    co.user = cred.user;
    co.pass = cred.pass ?? '';
  }
  if (cred.token !== undefined && cred.token !== '') co.token = cred.token;
  if (opts.creds !== undefined) co.authenticator = nats.credsAuthenticator(opts.creds);
  else if (opts.nkeySeed !== undefined) co.authenticator = nats.nkeyAuthenticator(opts.nkeySeed);
  const tls = opts.tls ?? (parsed.tlsScheme ? { rejectUnauthorized: true } : undefined);
  let nodeTLS: (TlsOptions & Pick<NodeTlsOptions, 'rejectUnauthorized' | 'servername'>) | undefined;
  if (tls !== undefined) {
    // nats.js hands the whole object to Node's tls.connect: the Node options pass through.
    const t: TlsOptions & Pick<NodeTlsOptions, 'rejectUnauthorized' | 'servername'> = { rejectUnauthorized: tls.rejectUnauthorized };
    if (tls.cert !== undefined) t.cert = tls.cert;
    if (tls.key !== undefined) t.key = tls.key;
    if (tls.ca !== undefined) t.ca = tls.ca;
    if (tls.servername !== undefined) t.servername = tls.servername;
    co.tls = t;
    nodeTLS = t;
  }
  let nc: NatsConnection;
  try {
    nc = await nats.connect(co);
  } catch (err) {
    const reason = describeConnectError(err, tls !== undefined);
    throw new ExternalNatsConfigError(`cannot connect to NATS Server at ${urls.map(redactURL).join(',')}: ${reason}`);
  }
  logger.notice(`nats: connection "${opts.name}" connected to NATS Server ${nc.getServer()}${tls !== undefined ? ' (TLS)' : ''}`);
  let standby: ClusterStandby | undefined;
  if (features.clusterStandby === true) {
    const name = `${opts.name}-standby`;
    // The announced members are bare `host:port` (often IPs): TLS still verifies the name
    // the operator gave, as nats.js does for the servers it discovers itself.
    const host = parsed.servers.length > 0 ? hostOf(parsed.servers[0]) : undefined;
    const standbyTLS = nodeTLS !== undefined && nodeTLS.servername === undefined && host !== undefined && !isIPHost(host) ? { ...nodeTLS, servername: host } : co.tls;
    standby = new ClusterStandby(nc, `_NSS.standby.${nats.nuid.next()}`, {
      connect: (server) => nats.connect({ ...co, tls: standbyTLS, servers: [server], name, reconnect: false, ignoreClusterUpdates: true }),
      logger,
      name,
    });
  }
  const link: LinkState = { connected: true };
  void watchStatus(nc, opts.name, logger, link, standby);
  void nc.closed().then((err) => {
    if (err) logger.error(`nats: connection "${opts.name}" closed: ${err.message}; this server no longer reaches NATS`);
    else if (logger.isDebug) logger.debug(`nats: connection "${opts.name}" has been closed`);
  });
  return new ExternalTransport(nc, logger, () => nats.createInbox(), link, standby);
}

function hostOf(server: string): string {
  // `[v6]:port`, `host:port` or a bare host.
  if (server.startsWith('[')) return server.slice(1, server.indexOf(']'));
  const i = server.lastIndexOf(':');
  return i > 0 && server.indexOf(':') === i ? server.slice(0, i) : server;
}

function isIPHost(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** Node's codes for a server certificate that could not be verified. */
const CERT_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What the operator should check for a failed first connection. */
function connectHint(code: string | undefined, tls: boolean): string {
  if (code === undefined) return '';
  if (code === CODE_TIMEOUT) {
    return tls
      ? 'no answer in time; with TLS this usually means the NATS server refused our client certificate, or requires one and none was given'
      : 'no answer in time';
  }
  if (code === 'AUTHORIZATION_VIOLATION') return 'the NATS server refused our credentials: check username/password, token, credentials or nkey_seed_file';
  if (code === 'CONNECTION_REFUSED') return 'nothing listens there: is the NATS server running?';
  if (code === 'SERVER_OPT_NA') return 'TLS was asked for: does the NATS server have TLS enabled?';
  if (CERT_VERIFY_CODES.has(code)) {
    return "the NATS server's certificate could not be verified: give its CA with -tls_client_cacert (and server_name if needed), or -secure to skip verification";
  }
  return '';
}

/** An operator-facing reason for a failed first connection. */
function describeConnectError(err: unknown, tls: boolean): string {
  const msg = errorText(err);
  const code = errCode(err);
  const hint = connectHint(code, tls);
  return `${msg}${code !== undefined && !msg.includes(code) ? ` [${code}]` : ''}${hint !== '' ? ` (${hint})` : ''}`;
}

/**
 * Logs connection state changes (the STAN core keeps working across reconnects). nats.js
 * reports one disconnect per failed attempt (e.g. each refusal of our credentials) and then
 * one reconnect per such disconnect: only transitions are logged at WRN/INF, repeats at DBG.
 */
async function watchStatus(nc: NatsConnection, name: string, logger: Logger, link: LinkState, standby: ClusterStandby | undefined): Promise<void> {
  let lastError = '';
  // The cluster members known at connect time (INFO before this watcher started).
  standby?.check();
  try {
    for await (const s of nc.status()) {
      const data = String(s.data);
      switch (s.type) {
        case 'disconnect':
          if (link.connected) logger.warn(`nats: disconnected: connection "${name}" lost NATS Server ${data}, reconnecting`);
          else if (logger.isDebug) logger.debug(`nats: connection "${name}": attempt on NATS Server ${data} failed`);
          link.connected = false;
          break;
        case 'reconnect':
          if (!link.connected) logger.notice(`nats: reconnected: connection "${name}" is connected to NATS Server ${data}`);
          link.connected = true;
          lastError = '';
          // The main connection may now share the standby's server: move the standby.
          standby?.check();
          break;
        case 'ldm':
          logger.warn(`nats: NATS Server ${data} entered lame duck mode; moving to another server`);
          break;
        case 'error':
          // The same refusal on every reconnect attempt: say it once per outage.
          if (data !== lastError) logger.error(`nats: asynchronous error on connection "${name}": ${data}`);
          else if (logger.isDebug) logger.debug(`nats: asynchronous error on connection "${name}" (again): ${data}`);
          lastError = data;
          break;
        case 'update':
          standby?.check();
          if (logger.isDebug) logger.debug(`nats: status ${s.type} ${JSON.stringify(s.data)}`);
          break;
        default:
          if (logger.isDebug) logger.debug(`nats: status ${s.type} ${JSON.stringify(s.data)}`);
      }
    }
  } catch (err) {
    logger.error(`nats: status watcher stopped: ${(err as Error).message}`);
  }
}
