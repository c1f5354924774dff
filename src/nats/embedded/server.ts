/**
 * The embedded, in-process NATS core server: a TCP listener speaking the client protocol
 * (for STAN clients) plus the routing shared with in-process connections (for the STAN
 * core's own traffic, which never touches a socket).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { NatsServerOptions } from '../../config/options';
import type { Logger } from '../../logging/logger';
import { ClientConnection, CloseReason, remoteIp, type ConnectionStats } from './client';
import { Authenticator } from './auth';
import { reloadNatsOptions, type NatsReloadResult } from './reload';
import { Sublist, type SublistStats } from './sublist';
import type { ConnectionHost, ReloadTarget } from './host';
import type { NatsSubscription, SubOwner } from './subscription';
import { ClientTls, tlsRequired } from './tls';

export const SERVER_VERSION = '2.10.0';
/** Reported in INFO `go`; informational only (spec §1.2). */
const GO_VERSION = 'go1.21.0';
/** Closed connections kept for monitoring (the reference's max_closed_clients). */
const MAX_CLOSED = 10_000;

export interface NatsServerStats {
  serverId: string;
  serverName: string;
  version: string;
  start: Date;
  /** Socket client connections currently open. */
  connections: number;
  totalConnections: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  slowConsumers: number;
  staleConnections: number;
  subscriptions: number;
  sublist: SublistStats;
}

/** Anything the server can report per connection (socket or in-process). */
export interface StatsSource {
  readonly cid: number;
  snapshot(): ConnectionStats;
}

/** Something the server must close on shutdown (in-process connections). */
export interface InProcessPeer extends StatsSource {
  shutdown(): void;
}

function randomServerId(): string {
  // Same shape as the reference's nkey ids: 'N' + 55 base32 chars.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const rnd = randomBytes(55);
  let id = 'N';
  for (let i = 0; i < 55; i++) id += alphabet[rnd[i] & 31];
  return id;
}

export class EmbeddedNatsServer implements ConnectionHost, ReloadTarget {
  readonly serverId = randomServerId();
  readonly serverName: string;
  readonly sublist = new Sublist<NatsSubscription>();
  /** Authentication and permissions (replaced by a configuration reload). */
  auth: Authenticator;
  readonly startTime = new Date();
  private reloading: Promise<unknown> = Promise.resolve();

  private readonly clients = new Map<number, ClientConnection>();
  private readonly inProcess = new Map<number, InProcessPeer>();
  private readonly closedConns: ConnectionStats[] = [];
  private cidSeq = 0;
  private infoHead = '';
  private listener: Server | null = null;
  private boundPort = 0;
  private closing: Promise<void> | null = null;
  /** Set when the client port requires TLS (spec §5.3). */
  private readonly tls: ClientTls | null;

  // /varz counters.
  private inMsgs = 0;
  private outMsgs = 0;
  private inBytes = 0;
  private outBytes = 0;
  private totalConnections = 0;
  private slowConsumers = 0;
  private staleConnections = 0;

  private constructor(
    /** Replaced (never mutated) by a configuration reload. */
    public options: Readonly<NatsServerOptions>,
    readonly logger: Logger,
  ) {
    this.serverName = this.serverId;
    // Throws AuthConfigError on an invalid combination: the server does not start.
    this.auth = new Authenticator(options);
    // Throws TlsConfigError (missing/unreadable/mismatched files) before anything listens.
    this.tls = tlsRequired(options) ? new ClientTls(options, logger) : null;
  }

  get authRequired(): boolean {
    return this.auth.required;
  }

  /** Creates the server and opens its client port. */
  static async start(opts: NatsServerOptions, logger: Logger): Promise<EmbeddedNatsServer> {
    const s = EmbeddedNatsServer.create(opts, logger);
    await s.listen();
    return s;
  }

  /**
   * Creates the server without opening its client port: in-process connections work at
   * once, socket clients only after {@link listen}. The streaming server opens the port only
   * once it serves, so that "the port accepts connections" means "STAN connects are answered".
   * Throws (auth or TLS configuration errors) before anything listens.
   */
  static create(opts: NatsServerOptions, logger: Logger): EmbeddedNatsServer {
    const s = new EmbeddedNatsServer({ ...opts }, logger);
    s.announce();
    return s;
  }

  get port(): number {
    return this.boundPort;
  }

  get address(): { host: string; port: number } {
    return { host: this.options.host, port: this.boundPort };
  }

  /** A URL clients on this machine can use (0.0.0.0/:: mean "any", so use loopback). */
  get clientURL(): string {
    const h = this.options.host;
    const host = h === '' || h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
    return `nats://${host}:${this.boundPort}`;
  }

  /** The reference's start-up banner and configuration warnings. */
  private announce(): void {
    const log = this.logger;
    log.notice('Starting nats-server');
    log.notice(`  Version:  ${SERVER_VERSION}`);
    log.notice('  Git:      [not set]');
    log.notice(`  Name:     ${this.serverName}`);
    log.notice(`  ID:       ${this.serverId}`);
    if (this.options.maxPayload > 8 * 1024 * 1024) {
      log.warn(`Maximum payloads over 8.00 MB are generally discouraged and could lead to poor performance`);
    }
    if (this.auth.plaintextPasswords) log.warn('Plaintext passwords detected, use nkeys or bcrypt');
  }

  /** Opens the client port (once; rejects with the listen error, e.g. EADDRINUSE). */
  listen(): Promise<void> {
    if (this.listener !== null) return Promise.reject(new Error('the NATS client port is already open'));
    if (this.closing !== null) return Promise.reject(new Error('the NATS server is closed'));
    const o = this.options;
    const log = this.logger;
    const srv = createServer({ noDelay: true }, this.onConnection);
    this.listener = srv;
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        srv.off('listening', onListening);
        const hint = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ': stop the process using it or choose another port with -p/--port' : '';
        reject(new Error(`cannot listen for client connections on ${o.host || '0.0.0.0'}:${o.port} (${err.message})${hint}`, { cause: err }));
      };
      const onListening = (): void => {
        srv.off('error', onError);
        srv.on('error', (err) => log.error(`Client listener error: ${err.message}`));
        const addr = srv.address();
        this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : o.port;
        this.buildInfo();
        log.notice(`Listening for client connections on ${o.host}:${this.boundPort}`);
        if (this.tls !== null) log.notice(`TLS required for client connections${this.tls.verify ? ' (client certificates verified)' : ''}`);
        log.notice('Server is ready');
        resolve();
      };
      srv.once('error', onError);
      srv.once('listening', onListening);
      // exclusive: never share the port with cluster workers; Node sets SO_REUSEADDR on
      // listening sockets, so a restarted server can bind the same port at once.
      srv.listen({ host: o.host === '' ? undefined : o.host, port: o.port, exclusive: true });
    });
  }

  /**
   * Configuration reload (SIGHUP): applies what can change at runtime (authorization,
   * permissions, -D/-V) and reports the rest, which keeps its running value. Throws
   * AuthConfigError (nothing applied) when the new authorization is invalid. Reloads are
   * serialized.
   */
  reload(next: Readonly<NatsServerOptions>): Promise<NatsReloadResult> {
    const run = this.reloading.then(() => reloadNatsOptions(this, next, [...this.clients.values()]));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /** Called by the reload: the INFO sent to new clients reflects `auth_required`. */
  rebuildInfo(): void {
    this.buildInfo();
  }

  private buildInfo(): void {
    const o = this.options;
    const info: Record<string, unknown> = {
      server_id: this.serverId,
      server_name: this.serverName,
      version: SERVER_VERSION,
      proto: 1,
      go: GO_VERSION,
      host: o.host,
      port: this.boundPort,
      headers: true,
      max_payload: o.maxPayload,
    };
    if (this.authRequired) info.auth_required = true;
    if (this.tls !== null) {
      info.tls_required = true;
      if (this.tls.verify) info.tls_verify = true;
    }
    const json = JSON.stringify(info);
    // Per-client fields are appended to this prefix, so INFO costs one concat per accept.
    this.infoHead = `INFO ${json.slice(0, -1)}`;
  }

  /** The INFO line for one client (spec §1.2), with the reference's space before CRLF. */
  infoFor(cid: number, ip: string): Buffer {
    return Buffer.from(`${this.infoHead},"client_id":${cid},"client_ip":${JSON.stringify(ip)}} \r\n`);
  }

  private readonly onConnection = (socket: Socket): void => {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const cid = this.nextCid();
    if (this.clients.size + (this.tls?.inProgress ?? 0) >= this.options.maxConnections) {
      // Refused before any TLS handshake: INFO and -ERR go out in plaintext, as in the reference.
      const c = new ClientConnection(cid, socket, this);
      this.logger.error(`${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0} - cid:${cid} - maximum connections exceeded`);
      c.start('maximum connections exceeded');
      return;
    }
    if (this.tls !== null) {
      const ip = remoteIp(socket);
      this.tls.upgrade(socket, this.infoFor(cid, ip), `${ip}:${socket.remotePort ?? 0} - cid:${cid} - `, (secure) =>
        this.admit(cid, secure, true),
      );
      return;
    }
    this.admit(cid, socket, false);
  };

  /** Starts serving an accepted (and, with TLS, handshaken) connection. */
  private admit(cid: number, socket: Socket, infoSent: boolean): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const c = new ClientConnection(cid, socket, this);
    this.clients.set(cid, c);
    this.totalConnections++;
    c.start(undefined, infoSent);
  }

  nextCid(): number {
    return ++this.cidSeq;
  }

  /** Called by a client connection once it is closed. */
  clientClosed(cid: number, snap: ConnectionStats): void {
    if (!this.clients.delete(cid)) return;
    this.closedConns.push(snap);
    if (this.closedConns.length > MAX_CLOSED) this.closedConns.shift();
  }

  noteSlowConsumer(): void {
    this.slowConsumers++;
  }

  noteStaleConnection(): void {
    this.staleConnections++;
  }

  registerInProcess(peer: InProcessPeer): void {
    this.inProcess.set(peer.cid, peer);
  }

  unregisterInProcess(peer: InProcessPeer): void {
    this.inProcess.delete(peer.cid);
  }

  /**
   * Delivers one published message, the bytes buf[start, end), to every matching subscription
   * (and one member per queue group). Returns how many subscriptions received it (0 = no
   * responders). This is the hot path for both socket and in-process publishers.
   */
  route(pub: SubOwner, subject: string, reply: string | undefined, hdrLen: number, buf: Uint8Array, start: number, end: number): number {
    const size = end - start;
    pub.inMsgs++;
    pub.inBytes += size;
    this.inMsgs++;
    this.inBytes += size;
    const r = this.sublist.match(subject);
    let n = 0;
    const ps = r.psubs;
    for (let i = 0; i < ps.length; i++) {
      const sub = ps[i];
      if (sub.closed || (sub.owner === pub && !pub.echo) || (sub.filter !== null && !sub.filter(subject))) continue;
      this.deliverOne(sub, subject, reply, hdrLen, buf, start, end);
      n++;
    }
    const qs = r.qsubs;
    for (let g = 0; g < qs.length; g++) {
      const members = qs[g];
      const len = members.length;
      // Random start, then the first eligible member: uniform when all are eligible.
      let k = (Math.random() * len) | 0;
      for (let t = 0; t < len; t++) {
        const sub = members[k];
        if (!sub.closed && (sub.owner !== pub || pub.echo) && (sub.filter === null || sub.filter(subject))) {
          this.deliverOne(sub, subject, reply, hdrLen, buf, start, end);
          n++;
          break;
        }
        k = k + 1 === len ? 0 : k + 1;
      }
    }
    return n;
  }

  /**
   * route() for a run of messages on one subject without reply or headers, message i being
   * buf[bounds[i], bounds[i + 1]) for i in [from, to) (the PubAcks of a commit group to one
   * publisher). One subscription lookup for the run when a single plain subscription takes them
   * all (a client's ack inbox); otherwise message by message, as route() does. Counted and
   * delivered message by message: a subscription closed during the run (its connection cut off
   * as a slow consumer, an in-process handler that unsubscribes) gets nothing more and the
   * rest is routed as route() would, so the statistics count what was delivered.
   */
  routeRun(pub: SubOwner, subject: string, buf: Uint8Array, bounds: ArrayLike<number>, from: number, to: number): void {
    const r = this.sublist.match(subject);
    const sub = r.psubs.length === 1 && r.qsubs.length === 0 ? r.psubs[0] : undefined;
    let i = from;
    if (sub !== undefined && sub.max === 0 && sub.filter === null && (sub.owner !== pub || pub.echo)) {
      for (; i < to && !sub.closed; i++) {
        const size = bounds[i + 1] - bounds[i];
        pub.inMsgs++;
        pub.inBytes += size;
        this.inMsgs++;
        this.inBytes += size;
        this.deliverOne(sub, subject, undefined, -1, buf, bounds[i], bounds[i + 1]);
      }
    }
    for (; i < to; i++) this.route(pub, subject, undefined, -1, buf, bounds[i], bounds[i + 1]);
  }

  private deliverOne(sub: NatsSubscription, subject: string, reply: string | undefined, hdrLen: number, buf: Uint8Array, start: number, end: number): void {
    const owner = sub.owner;
    const size = end - start;
    sub.delivered++;
    owner.outMsgs++;
    owner.outBytes += size;
    this.outMsgs++;
    this.outBytes += size;
    owner.deliver(sub, subject, reply, hdrLen, buf, start, end);
    if (sub.max > 0 && sub.delivered >= sub.max) owner.removeSubscription(sub);
  }

  stats(): NatsServerStats {
    return {
      serverId: this.serverId,
      serverName: this.serverName,
      version: SERVER_VERSION,
      start: this.startTime,
      connections: this.clients.size,
      totalConnections: this.totalConnections,
      inMsgs: this.inMsgs,
      outMsgs: this.outMsgs,
      inBytes: this.inBytes,
      outBytes: this.outBytes,
      slowConsumers: this.slowConsumers,
      staleConnections: this.staleConnections,
      subscriptions: this.sublist.size,
      sublist: this.sublist.stats(),
    };
  }

  /** Open connections: socket clients, then in-process ones (kind 'inprocess'). */
  connections(): ConnectionStats[] {
    const out: ConnectionStats[] = [];
    for (const c of this.clients.values()) out.push(c.snapshot());
    for (const p of this.inProcess.values()) out.push(p.snapshot());
    return out;
  }

  /** Recently closed socket connections, oldest first (with `stop` and `reason`). */
  closedConnections(): readonly ConnectionStats[] {
    return this.closedConns;
  }

  get isClosed(): boolean {
    return this.closing !== null;
  }

  /** Stops listening and drops every connection; resolves once the port is free. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    const srv = this.listener;
    this.closing = new Promise<void>((resolve) => {
      // Closed before the port was opened (start-up failed): only in-process connections exist.
      if (srv === null) resolve();
      else srv.close(() => resolve());
      this.tls?.close();
      for (const c of [...this.clients.values()]) c.destroy(CloseReason.ServerShutdown);
      for (const p of [...this.inProcess.values()]) p.shutdown();
    });
    return this.closing;
  }
}
