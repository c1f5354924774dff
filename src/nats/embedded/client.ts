/**
 * One client socket connection of the embedded NATS server.
 *
 * Outbound bytes are appended into a per-connection buffer and written once per event
 * loop turn (setImmediate), so a burst of N messages costs one socket write (one writev
 * when large payloads are referenced instead of copied), never one syscall per message.
 *
 * Size (~780 lines, above the ~500 guide), kept in one file on purpose: this is one connection's
 * protocol state machine (CONNECT/auth, PUB/SUB/UNSUB, the outbound buffer and its write
 * deadline, slow-consumer and close handling) over private per-connection state that every
 * handler touches; split files would have to expose that state to each other. Parsing
 * (parser.ts), auth, permissions, TLS and the server-side view (host.ts) are already apart.
 */
import type { Socket } from 'node:net';
import { ProtocolParser, type ParserHandler, type ProtocolError } from './parser';
import { ANONYMOUS, type Authenticator, type AuthIdentity, type Credentials } from './auth';
import { ResponseTracker } from './permissions';
import { isValidLiteralSubject, isValidSubject } from '../../subject';
import { NatsSubscription, type SubOwner } from './subscription';
import { subscriptionEntry, type ConnectionHost, type ConnectionStats } from './host';
import { tlsConnInfo } from './tls';

/** Size of each outbound backing buffer; small messages are copied into it. */
const OUT_CHUNK = 64 * 1024;
/** Payloads at least this big are queued by reference instead of copied. */
const REF_THRESHOLD = 32 * 1024;

const MSG_PREFIX = Buffer.from('MSG ');
const HMSG_PREFIX = Buffer.from('HMSG ');
const PING = Buffer.from('PING\r\n');
const PONG = Buffer.from('PONG\r\n');
const OK = Buffer.from('+OK\r\n');
/** 2.9.10's no-responders status block (spec §2.3). */
const NO_RESPONDERS_HDR = Buffer.from('NATS/1.0 503\r\n\r\n');

/** Close reasons as the reference reports them in /connz `reason`. */
export const CloseReason = {
  ClientClosed: 'Client Closed',
  ProtocolViolation: 'Protocol Violation',
  AuthViolation: 'Authentication Failure',
  AuthTimeout: 'Authentication Timeout',
  SlowConsumerPending: 'Slow Consumer (Pending Bytes)',
  SlowConsumerDeadline: 'Slow Consumer (Write Deadline)',
  StaleConnection: 'Stale Connection',
  MaxConnections: 'Maximum Connections Exceeded',
  ReadError: 'Read Error',
  ServerShutdown: 'Server Shutdown',
} as const;

export type { ConnectionStats } from './host';

/** The client's IP as the reference shows it (IPv4 clients of a dual-stack listener as plain IPv4). */
export function remoteIp(socket: Socket): string {
  return (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bool(v: unknown, dflt: boolean): boolean {
  return typeof v === 'boolean' ? v : dflt;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Go's %q for the subjects and names in violation texts (spec §2.7). */
function q(s: string): string {
  return JSON.stringify(s);
}

function credentialsOf(o: Record<string, unknown>): Credentials {
  return { user: str(o.user), pass: str(o.pass), token: str(o.auth_token) };
}

export class ClientConnection implements SubOwner, ParserHandler {
  // SubOwner counters.
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;

  echo = true;
  // The reference's defaults apply before (and without) CONNECT.
  private verbose = true;
  private pedantic = true;
  private headers = false;
  private noResponders = false;
  private name = '';
  private lang = '';
  private version = '';
  private authPending: boolean;
  private authTimer: NodeJS.Timeout | null = null;
  /** Who this connection is and what it may do (auth.ts / permissions.ts). */
  private identity: AuthIdentity = ANONYMOUS;
  /** CONNECT credentials, kept to re-check them on a configuration reload. */
  private creds: Credentials = {};
  /** A CONNECT was accepted. */
  private connected = false;
  private responses: ResponseTracker | null = null;

  readonly ip: string;
  readonly remotePort: number;
  readonly startTime = new Date();
  private lastActivity = Date.now();
  /** Last time anything arrived from the client (the PING skip rule looks at inbound only). */
  private lastIn = Date.now();
  private readonly subs = new Map<string, NatsSubscription>();
  private readonly parser: ProtocolParser;
  private readonly prefix: string;
  private trace: boolean;

  // Outbound buffering.
  private buf: Buffer = Buffer.allocUnsafe(0);
  private pos = 0;
  private segStart = 0;
  private readonly parts: Buffer[] = [];
  private queued = 0;
  private flushScheduled = false;
  /** Issue times of socket writes not yet acknowledged, for the write deadline. */
  private readonly writeTimes: number[] = [];
  private deadlineTimer: NodeJS.Timeout | null = null;

  private pingTimer: NodeJS.Timeout | null = null;
  private pingsOut = 0;

  closed = false;
  closeReason = '';
  stopTime: Date | null = null;

  constructor(
    readonly cid: number,
    private readonly socket: Socket,
    private readonly server: ConnectionHost,
  ) {
    this.ip = remoteIp(socket);
    this.remotePort = socket.remotePort ?? 0;
    this.prefix = `${this.ip}:${this.remotePort} - cid:${cid} - `;
    this.trace = server.logger.isTrace;
    const o = server.options;
    this.parser = new ProtocolParser(this, { maxControlLine: o.maxControlLine, maxPayload: o.maxPayload });
    this.authPending = server.auth.required;
    // With no_auth_user, that user's permissions apply from the first byte (as nats-server).
    if (server.auth.noAuthIdentity !== null) this.setIdentity(server.auth.noAuthIdentity);
  }

  /**
   * Sends INFO and starts reading; called once by the server after accept. With TLS the
   * server already sent INFO in plaintext before the handshake (`infoSent`).
   */
  start(rejectWith?: string, infoSent = false): void {
    const s = this.socket;
    s.setNoDelay(true);
    s.on('data', this.onData);
    s.on('error', this.onSocketError);
    s.on('close', this.onSocketClose);
    if (!infoSent) this.sendRaw(this.server.infoFor(this.cid, this.ip));
    if (rejectWith !== undefined) {
      this.closeWithError(rejectWith, CloseReason.MaxConnections);
      return;
    }
    if (this.server.logger.isDebug) this.server.logger.debug(`${this.prefix}Client connection created`);
    if (this.authPending) this.armAuthTimer();
    this.armPing();
    this.flushNow();
  }

  // ---- inbound ---------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    this.lastIn = this.lastActivity = Date.now();
    try {
      this.parser.parse(chunk);
    } catch (err) {
      // A handler bug must not take the whole server down; this connection goes.
      this.server.logger.error(`${this.prefix}Error processing client data: ${(err as Error).stack ?? String(err)}`);
      this.close(CloseReason.ProtocolViolation);
    }
  };

  private readonly onSocketError = (err: Error): void => {
    if (this.server.logger.isDebug) this.server.logger.debug(`${this.prefix}Socket error: ${err.message}`);
    this.close(CloseReason.ReadError, true);
  };

  private readonly onSocketClose = (): void => {
    this.close(CloseReason.ClientClosed, true);
  };

  private traceIn(op: string): void {
    this.server.logger.trace(`${this.prefix}<<- [${op}]`);
  }

  private armAuthTimer(): void {
    this.authTimer = setTimeout(() => {
      if (this.server.logger.isDebug) this.server.logger.debug(`${this.prefix}Authentication Timeout`);
      this.closeWithError('Authentication Timeout', CloseReason.AuthTimeout);
    }, this.server.options.authTimeout);
  }

  /** With auth required, nothing but CONNECT is allowed first (spec §5.2). */
  private checkAuth(): boolean {
    if (!this.authPending) return true;
    this.server.logger.error(`${this.prefix}authentication error`);
    this.closeWithError('Authorization Violation', CloseReason.AuthViolation);
    return false;
  }

  onConnect(json: string): void {
    // Like the reference, keep secrets out of trace logs.
    if (this.trace) this.traceIn(`CONNECT ${json.replace(/("(?:pass|auth_token|sig|jwt)"\s*:\s*)"(?:[^"\\]|\\.)*"/g, '$1"[REDACTED]"')}`);
    let o: unknown;
    try {
      o = JSON.parse(json);
    } catch {
      o = undefined;
    }
    if (!isRecord(o)) {
      // The reference closes without -ERR on bad CONNECT JSON (spec §1.3).
      this.server.logger.error(`${this.prefix}Client parser ERROR, state=CONNECT: invalid JSON`);
      this.close(CloseReason.ProtocolViolation);
      return;
    }
    if (o.account !== undefined || o.new_account !== undefined) {
      this.closeWithError('Authorization Violation', CloseReason.AuthViolation);
      return;
    }
    const creds = credentialsOf(o);
    const auth = this.server.auth;
    const verdict = auth.verify(creds);
    if (verdict instanceof Promise) {
      // A bcrypt check takes a while: hold the ops that follow CONNECT until it is done.
      this.parser.suspend();
      this.socket.pause();
      const connect = o;
      void verdict.then(async (id) => {
        if (this.closed) return;
        this.finishConnect(connect, creds, id);
        // A configuration reload happened meanwhile: check against the new one too.
        if (this.server.auth !== auth) await this.reauthorize(this.server.auth, auth);
        if (this.closed) return;
        this.socket.resume();
        this.parser.resume();
      });
      return;
    }
    this.finishConnect(o, creds, verdict);
  }

  private finishConnect(o: Record<string, unknown>, creds: Credentials, id: AuthIdentity | null): void {
    if (id === null) {
      this.authFailed(creds.user ?? '');
      return;
    }
    const protocol = o.protocol === undefined ? 0 : o.protocol;
    if (typeof protocol !== 'number' || (protocol !== 0 && protocol !== 1)) {
      this.closeWithError('invalid client protocol', CloseReason.ProtocolViolation);
      return;
    }
    const headers = o.headers === true;
    const noResponders = o.no_responders === true;
    if (noResponders && !headers) {
      this.closeWithError('no responders requires headers support', CloseReason.ProtocolViolation);
      return;
    }
    this.verbose = bool(o.verbose, true);
    this.pedantic = bool(o.pedantic, true);
    this.echo = bool(o.echo, true);
    this.headers = headers;
    this.noResponders = noResponders;
    this.parser.headers = headers;
    this.name = str(o.name);
    this.lang = str(o.lang);
    this.version = str(o.version);
    this.creds = creds;
    this.connected = true;
    // applyIdentity, not setIdentity: a second CONNECT may change the user of existing subs.
    this.applyIdentity(id);
    if (this.authPending) {
      this.authPending = false;
      if (this.authTimer !== null) clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    if (this.verbose) this.sendOk();
  }

  onPing(): void {
    if (this.trace) this.traceIn('PING');
    if (!this.checkAuth()) return;
    this.sendRaw(PONG);
    if (this.trace) this.server.logger.trace(`${this.prefix}->> [PONG]`);
  }

  onPong(): void {
    if (this.trace) this.traceIn('PONG');
    this.pingsOut = 0;
  }

  onPub(subject: string, reply: string | undefined, payload: Buffer): void {
    if (this.trace) this.tracePub('PUB', subject, reply, -1, payload);
    if (!this.checkAuth()) return;
    this.publish(subject, reply, -1, payload);
  }

  onHpub(subject: string, reply: string | undefined, hdrLen: number, payload: Buffer): void {
    if (this.trace) this.tracePub('HPUB', subject, reply, hdrLen, payload);
    if (!this.checkAuth()) return;
    this.publish(subject, reply, hdrLen, payload);
  }

  private tracePub(op: string, subject: string, reply: string | undefined, hdrLen: number, payload: Buffer): void {
    const r = reply === undefined ? '' : ` ${reply}`;
    const h = hdrLen >= 0 ? ` ${hdrLen}` : '';
    this.traceIn(`${op} ${subject}${r}${h} ${payload.length}`);
    this.server.logger.trace(`${this.prefix}<<- MSG_PAYLOAD: [${JSON.stringify(payload.toString('utf8'))}]`);
  }

  private publish(subject: string, reply: string | undefined, hdrLen: number, payload: Buffer): void {
    if (this.pedantic && !isValidLiteralSubject(subject)) {
      // Not fatal, and the message is still delivered (spec §2.6 step 4).
      this.sendErr('Invalid Publish Subject');
    }
    const perms = this.identity.permissions;
    if (perms !== null && !perms.canPublish(subject) && !(this.responses?.allowResponse(subject) ?? false)) {
      this.sendErr(`Permissions Violation for Publish to ${q(subject)}`);
      this.server.logger.error(`${this.prefix}Publish Violation - User ${q(this.identity.user)}, Subject ${q(subject)}`);
      return;
    }
    if (this.verbose) this.sendOk();
    const n = this.server.route(this, subject, reply, hdrLen, payload);
    if (n === 0 && reply !== undefined && this.noResponders) this.sendNoResponders(reply);
  }

  /** 503 status to the requester's own subscription on the reply subject (spec §2.3). */
  private sendNoResponders(reply: string): void {
    const r = this.server.sublist.match(reply);
    let target: NatsSubscription | undefined;
    for (const s of r.psubs) {
      if (s.owner === this && !s.closed) {
        target = s;
        break;
      }
    }
    if (target === undefined) {
      outer: for (const g of r.qsubs) {
        for (const s of g) {
          if (s.owner === this && !s.closed) {
            target = s;
            break outer;
          }
        }
      }
    }
    if (target !== undefined) this.deliver(target, reply, undefined, NO_RESPONDERS_HDR.length, NO_RESPONDERS_HDR);
  }

  onSub(subject: string, queue: string | undefined, sid: string): void {
    if (this.trace) this.traceIn(`SUB ${subject}${queue === undefined ? '' : ` ${queue}`} ${sid}`);
    if (!this.checkAuth()) return;
    if (!isValidSubject(subject)) {
      this.sendErr('Invalid Subject');
      return;
    }
    const perms = this.identity.permissions;
    if (perms !== null && !perms.canSubscribe(subject, queue)) {
      this.subViolation(subject, queue, sid);
      return;
    }
    if (this.subs.has(sid)) {
      // The reference silently keeps the existing subscription (spec §2.4).
      if (this.verbose) this.sendOk();
      return;
    }
    const maxSubs = this.server.options.maxSubscriptions;
    if (maxSubs > 0 && this.subs.size >= maxSubs) {
      this.server.logger.error(`${this.prefix}maximum subscriptions exceeded`);
      this.sendErr('maximum subscriptions exceeded');
      return;
    }
    const sub = new NatsSubscription(this, subject, queue, sid, null);
    sub.sidBytes = Buffer.from(` ${sid} `);
    if (perms !== null && perms.needsDeliveryFilter(subject)) sub.filter = this.deliveryFilter;
    this.subs.set(sid, sub);
    this.server.sublist.insert(sub);
    if (this.verbose) this.sendOk();
  }

  private subViolation(subject: string, queue: string | undefined, sid: string): void {
    const user = q(this.identity.user);
    if (queue === undefined) {
      this.sendErr(`Permissions Violation for Subscription to ${q(subject)}`);
      this.server.logger.error(`${this.prefix}Subscription Violation - User ${user}, Subject ${q(subject)}, SID ${sid}`);
    } else {
      this.sendErr(`Permissions Violation for Subscription to ${q(subject)} using queue ${q(queue)}`);
      this.server.logger.error(`${this.prefix}Subscription Violation - User ${user}, Subject ${q(subject)}, Queue: ${q(queue)}, SID ${sid}`);
    }
  }

  /** Subscribe deny list applied to deliveries of wildcard subscriptions that overlap it. */
  private readonly deliveryFilter = (subject: string): boolean => this.identity.permissions?.canDeliver(subject) ?? true;

  private authFailed(user: string): void {
    this.server.logger.error(`${this.prefix}authentication error${user === '' ? '' : ` - User ${q(user)}`}`);
    this.closeWithError('Authorization Violation', CloseReason.AuthViolation);
  }

  private setIdentity(id: AuthIdentity): void {
    this.identity = id;
    const resp = id.permissions?.responses ?? null;
    if (resp === null) this.responses = null;
    else if (this.responses === null || !this.responses.sameAs(resp)) this.responses = new ResponseTracker(resp);
  }

  /**
   * Configuration reload: re-checks this connection against the new authenticator. A
   * connection whose credentials are no longer valid is closed with `Authorization
   * Violation`; the others get the new permissions, and subscriptions these no longer
   * allow are removed (with the usual violation error).
   */
  reauthorize(auth: Authenticator, prev: Authenticator): void | Promise<void> {
    if (this.closed) return;
    if (!this.connected) {
      // No CONNECT yet: the new rules apply to the CONNECT to come.
      this.authPending = auth.required;
      if (!auth.required && this.authTimer !== null) {
        clearTimeout(this.authTimer);
        this.authTimer = null;
      } else if (auth.required && this.authTimer === null) {
        this.armAuthTimer();
      }
      this.applyIdentity(auth.noAuthIdentity ?? ANONYMOUS);
      return;
    }
    const verdict = auth.reverify(this.creds, prev);
    const apply = (id: AuthIdentity | null): void => {
      if (this.closed) return;
      if (id === null) {
        this.server.logger.error(
          `${this.prefix}authentication error${this.creds.user ? ` - User ${q(this.creds.user)}` : ''} (credentials no longer valid after configuration reload)`,
        );
        this.closeWithError('Authorization Violation', CloseReason.AuthViolation);
        return;
      }
      this.applyIdentity(id);
    };
    if (verdict instanceof Promise) return verdict.then(apply);
    apply(verdict);
  }

  /** Configuration reload of -D/-V: the trace flag is cached per connection. */
  refreshLogFlags(): void {
    this.trace = this.server.logger.isTrace;
  }

  private applyIdentity(id: AuthIdentity): void {
    this.setIdentity(id);
    const perms = id.permissions;
    for (const sub of [...this.subs.values()]) {
      if (perms !== null && !perms.canSubscribe(sub.subject, sub.queue)) {
        this.removeSubscription(sub);
        this.subViolation(sub.subject, sub.queue, sub.sid);
        continue;
      }
      sub.filter = perms !== null && perms.needsDeliveryFilter(sub.subject) ? this.deliveryFilter : null;
    }
  }

  onUnsub(sid: string, max: number | undefined): void {
    if (this.trace) this.traceIn(`UNSUB ${sid}${max === undefined ? '' : ` ${max}`}`);
    if (!this.checkAuth()) return;
    const sub = this.subs.get(sid);
    if (sub !== undefined) {
      if (max !== undefined && max > 0 && sub.delivered < max) sub.max = max;
      else this.removeSubscription(sub);
    }
    if (this.verbose) this.sendOk();
  }

  onClientError(text: string): void {
    if (this.trace) this.traceIn(`-ERR ${text}`);
    this.server.logger.error(`${this.prefix}Client Error ${text}`);
    this.close(CloseReason.ClientClosed);
  }

  onProtocolError(err: ProtocolError): void {
    this.server.logger.error(`${this.prefix}${err.message}`);
    if (err.errText !== undefined) this.closeWithError(err.errText, CloseReason.ProtocolViolation);
    else this.close(CloseReason.ProtocolViolation);
  }

  removeSubscription(sub: NatsSubscription): void {
    if (sub.closed) return;
    sub.closed = true;
    this.subs.delete(sub.sid);
    this.server.sublist.remove(sub);
  }

  // ---- outbound --------------------------------------------------------------------

  /** Encodes one MSG/HMSG into the outbound buffer. */
  deliver(sub: NatsSubscription, subject: string, reply: string | undefined, hdrLen: number, data: Uint8Array): void {
    if (this.closed) return;
    if (this.responses !== null && reply !== undefined) this.responses.noteRequest(reply);
    // As in the reference, an HPUB with a 0-byte header block is delivered as plain MSG.
    const isHpub = hdrLen > 0;
    const hdr = isHpub && this.headers ? hdrLen : -1;
    // A client that did not ask for headers gets MSG with the header block stripped.
    const payload = isHpub && !this.headers ? data.subarray(hdrLen) : data;
    const size = payload.length;
    const maxPending = this.server.options.maxPending;
    // Worst-case control line size: UTF-8 may take 3 bytes per UTF-16 unit.
    const lineRoom = 64 + subject.length * 3 + (reply === undefined ? 0 : reply.length * 3) + sub.sidBytes!.length;
    if (this.queued + (this.pos - this.segStart) + this.socket.writableLength + lineRoom + size > maxPending) {
      this.slowConsumer(maxPending);
      return;
    }
    this.ensure(size >= REF_THRESHOLD ? lineRoom : lineRoom + size);
    this.putBytes(hdr >= 0 ? HMSG_PREFIX : MSG_PREFIX);
    this.putString(subject);
    this.putBytes(sub.sidBytes!);
    if (reply !== undefined) {
      this.putString(reply);
      this.buf[this.pos++] = 32;
    }
    if (hdr >= 0) {
      this.putInt(hdr);
      this.buf[this.pos++] = 32;
    }
    this.putInt(size);
    this.buf[this.pos++] = 13;
    this.buf[this.pos++] = 10;
    if (size >= REF_THRESHOLD) {
      this.seal();
      this.parts.push(Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
      this.queued += size;
      this.ensure(2);
    } else {
      this.buf.set(payload, this.pos);
      this.pos += size;
    }
    this.buf[this.pos++] = 13;
    this.buf[this.pos++] = 10;
    if (this.trace) {
      const r = reply === undefined ? '' : ` ${reply}`;
      const h = hdr >= 0 ? ` ${hdr}` : '';
      this.server.logger.trace(`${this.prefix}->> [${hdr >= 0 ? 'HMSG' : 'MSG'} ${subject} ${sub.sid}${r}${h} ${size}]`);
    }
    this.scheduleFlush();
  }

  private sendOk(): void {
    this.sendRaw(OK);
    if (this.trace) this.server.logger.trace(`${this.prefix}->> [OK]`);
  }

  private sendErr(text: string): void {
    this.sendRaw(Buffer.from(`-ERR '${text}'\r\n`));
    if (this.trace) this.server.logger.trace(`${this.prefix}->> [-ERR '${text}']`);
  }

  /** Queues a complete protocol line. */
  private sendRaw(bytes: Buffer): void {
    if (this.closed) return;
    this.ensure(bytes.length);
    this.putBytes(bytes);
    this.scheduleFlush();
  }

  /** Makes room for `n` more bytes in the current backing buffer. */
  private ensure(n: number): void {
    if (this.buf.length - this.pos >= n) return;
    this.seal();
    this.buf = Buffer.allocUnsafe(n > OUT_CHUNK ? n : OUT_CHUNK);
    this.pos = 0;
    this.segStart = 0;
  }

  /** Moves the bytes written since the last seal into the list of parts to write. */
  private seal(): void {
    if (this.pos > this.segStart) {
      this.parts.push(this.buf.subarray(this.segStart, this.pos));
      this.queued += this.pos - this.segStart;
      this.segStart = this.pos;
    }
  }

  private putBytes(b: Buffer): void {
    const n = b.length;
    if (n > 32) {
      b.copy(this.buf, this.pos);
      this.pos += n;
      return;
    }
    // `MSG `, the ` <sid> ` bytes: for a few bytes the native copy's call costs more than the copy
    // (`_copyActual` ~2.5% of the async publish profile, two calls per message sent).
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = b[i];
    this.pos = p;
  }

  /** Callers must have ensured length*3 bytes of room. ASCII is copied in JS (short strings). */
  private putString(s: string): void {
    const buf = this.buf;
    let p = this.pos;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 128) {
        this.pos = p + buf.write(s.substring(i), p, 'utf8');
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  private putInt(v: number): void {
    if (v < 10) {
      this.buf[this.pos++] = 48 + v;
      return;
    }
    const s = String(v);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushNow);
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.seal();
    const parts = this.parts;
    if (parts.length === 0 || this.socket.destroyed) {
      parts.length = 0;
      this.queued = 0;
      return;
    }
    const s = this.socket;
    if (parts.length === 1) {
      s.write(parts[0], this.onWritten);
    } else {
      // cork/uncork turns the parts into a single writev.
      s.cork();
      for (let i = 0; i < parts.length - 1; i++) s.write(parts[i]);
      s.write(parts[parts.length - 1], this.onWritten);
      s.uncork();
    }
    parts.length = 0;
    this.queued = 0;
    this.lastActivity = Date.now();
    this.writeTimes.push(this.lastActivity);
    if (this.deadlineTimer === null && !this.closed) this.armDeadline(this.server.options.writeDeadline);
  };

  private readonly onWritten = (): void => {
    this.writeTimes.shift();
  };

  private armDeadline(ms: number): void {
    this.deadlineTimer = setTimeout(this.checkDeadline, ms);
  }

  private readonly checkDeadline = (): void => {
    this.deadlineTimer = null;
    if (this.closed || this.writeTimes.length === 0) return;
    const deadline = this.server.options.writeDeadline;
    const age = Date.now() - this.writeTimes[0];
    if (age >= deadline) {
      const pending = this.socket.writableLength;
      this.server.logger.notice(
        `${this.prefix}Slow Consumer Detected: WriteDeadline of ${deadline / 1000}s exceeded with ${this.writeTimes.length} chunks of ${pending} total bytes.`,
      );
      this.server.noteSlowConsumer();
      this.close(CloseReason.SlowConsumerDeadline, true);
      return;
    }
    this.armDeadline(deadline - age);
  };

  private slowConsumer(maxPending: number): void {
    this.server.logger.notice(`${this.prefix}Slow Consumer Detected: MaxPending of ${maxPending} Exceeded`);
    this.server.noteSlowConsumer();
    this.close(CloseReason.SlowConsumerPending, true);
  }

  // ---- keepalive -------------------------------------------------------------------

  private armPing(): void {
    const iv = this.server.options.pingInterval;
    if (iv > 0) this.pingTimer = setTimeout(this.onPingTimer, iv);
  }

  private readonly onPingTimer = (): void => {
    this.pingTimer = null;
    if (this.closed) return;
    const o = this.server.options;
    // Skip rule (spec §1.4): recent inbound traffic proves the client is alive.
    if (Date.now() - this.lastIn < o.pingInterval) {
      this.armPing();
      return;
    }
    if (this.pingsOut + 1 > o.pingMax) {
      this.server.logger.debug(`${this.prefix}Stale Client Connection - Closing`);
      this.server.noteStaleConnection();
      this.closeWithError('Stale Connection', CloseReason.StaleConnection);
      return;
    }
    this.pingsOut++;
    this.sendRaw(PING);
    if (this.trace) this.server.logger.trace(`${this.prefix}->> [PING]`);
    this.armPing();
  };

  // ---- closing ---------------------------------------------------------------------

  /** Sends `-ERR '<text>'`, flushes it, then closes. */
  closeWithError(text: string, reason: string): void {
    if (this.closed) return;
    this.sendErr(text);
    this.close(reason);
  }

  /**
   * Closes the connection. Pending output is flushed first unless `hard` (slow consumers
   * and dead sockets get nothing more).
   */
  close(reason: string, hard = false): void {
    if (this.closed) return;
    this.parser.stop();
    if (!hard) this.flushNow();
    this.closed = true;
    this.closeReason = reason;
    this.stopTime = new Date();
    // Snapshot before the subscriptions go, so closed-connection reports still list them.
    const snap = this.snapshot();
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.pingTimer = this.authTimer = this.deadlineTimer = null;
    for (const sub of this.subs.values()) {
      sub.closed = true;
      this.server.sublist.remove(sub);
    }
    const s = this.socket;
    s.off('data', this.onData);
    if (hard) s.destroy();
    else {
      s.end(() => s.destroy());
      // A peer that never reads would keep the half-closed socket forever.
      setTimeout(() => s.destroy(), Math.min(this.server.options.writeDeadline, 2000)).unref();
    }
    this.server.clientClosed(this.cid, snap);
    if (this.server.logger.isDebug) this.server.logger.debug(`${this.prefix}${this.descr()}Client connection closed: ${reason}`);
    this.parts.length = 0;
    this.queued = 0;
  }

  private descr(): string {
    if (this.name === '' && this.lang === '' && this.version === '') return '';
    return `"${this.version}:${this.lang}${this.name === '' ? '' : `:${this.name}`}" - `;
  }

  /** Destroys the socket immediately (server shutdown). */
  destroy(reason: string): void {
    this.close(reason, true);
  }

  snapshot(): ConnectionStats {
    const subs = [...this.subs.values()];
    return {
      cid: this.cid,
      kind: 'client',
      ip: this.ip,
      port: this.remotePort,
      start: this.startTime,
      lastActivity: new Date(this.lastActivity),
      ...(this.stopTime !== null ? { stop: this.stopTime, reason: this.closeReason } : {}),
      name: this.name,
      lang: this.lang,
      version: this.version,
      subscriptions: subs.length,
      subscriptionsList: subs.map(subscriptionEntry),
      pendingBytes: this.socket.destroyed ? 0 : this.queued + (this.pos - this.segStart) + this.socket.writableLength,
      inMsgs: this.inMsgs,
      outMsgs: this.outMsgs,
      inBytes: this.inBytes,
      outBytes: this.outBytes,
      ...tlsConnInfo(this.socket),
    };
  }
}
