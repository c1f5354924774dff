/**
 * One client socket connection of the embedded NATS server: its life cycle (start, socket
 * events, close, /connz snapshot) and the protocol ops the parser hands it (PUB/HPUB,
 * SUB/UNSUB, PING/PONG), with the MSG/HMSG encoder that delivers to it.
 *
 * The connection is built in layers, one concern per file: client-outbound.ts (write buffer,
 * flush, slow consumers) <- client-auth.ts (CONNECT, credentials, permissions, reload) <- this
 * class; keepalive.ts is the PING timer. Parsing (parser.ts), auth rules, permissions, TLS and
 * the server-side view (host.ts) are apart as well.
 */
import type { Socket } from 'node:net';
import { ProtocolParser, type ParserHandler, type ProtocolError } from './parser';
import { isValidLiteralSubject, isValidSubject } from '../../subject';
import { NatsSubscription, type SubOwner } from './subscription';
import { subscriptionEntry, type ConnectionHost, type ConnectionStats } from './host';
import { tlsConnInfo } from './tls';
import { CloseReason } from './close-reason';
import { REF_THRESHOLD } from './client-outbound';
import { ClientAuthorization, q } from './client-auth';
import { Keepalive } from './keepalive';

const MSG_PREFIX = Buffer.from('MSG ');
const HMSG_PREFIX = Buffer.from('HMSG ');
const PING = Buffer.from('PING\r\n');
const PONG = Buffer.from('PONG\r\n');
/** 2.9.10's no-responders status block (spec §2.3). */
const NO_RESPONDERS_HDR = Buffer.from('NATS/1.0 503\r\n\r\n');

export { CloseReason } from './close-reason';
export type { ConnectionStats } from './host';

/** The client's IP as the reference shows it (IPv4 clients of a dual-stack listener as plain IPv4). */
export function remoteIp(socket: Socket): string {
  return (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

export class ClientConnection extends ClientAuthorization implements SubOwner, ParserHandler {
  // SubOwner counters.
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;

  readonly ip: string;
  readonly remotePort: number;
  readonly startTime = new Date();
  /** Last time anything arrived from the client (the PING skip rule looks at inbound only). */
  private lastIn = Date.now();
  protected readonly parser: ProtocolParser;
  private readonly keepalive = new Keepalive({
    options: () => this.server.options,
    isClosed: () => this.closed,
    lastInbound: () => this.lastIn,
    sendPing: () => {
      this.sendRaw(PING);
      if (this.trace) this.server.logger.trace(`${this.prefix}->> [PING]`);
    },
    stale: () => {
      this.server.logger.debug(`${this.prefix}Stale Client Connection - Closing`);
      this.server.noteStaleConnection();
      this.closeWithError('Stale Connection', CloseReason.StaleConnection);
    },
  });

  closeReason = '';
  stopTime: Date | null = null;

  constructor(cid: number, socket: Socket, server: ConnectionHost) {
    const ip = remoteIp(socket);
    const remotePort = socket.remotePort ?? 0;
    super(cid, socket, server, `${ip}:${remotePort} - cid:${cid} - `);
    this.ip = ip;
    this.remotePort = remotePort;
    const o = server.options;
    this.parser = new ProtocolParser(this, { maxControlLine: o.maxControlLine, maxPayload: o.maxPayload });
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
    this.keepalive.start();
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

  onPing(): void {
    if (this.trace) this.traceIn('PING');
    if (!this.checkAuth()) return;
    this.sendRaw(PONG);
    if (this.trace) this.server.logger.trace(`${this.prefix}->> [PONG]`);
  }

  onPong(): void {
    if (this.trace) this.traceIn('PONG');
    this.keepalive.pong();
  }

  onPub(subject: string, reply: string | undefined, buf: Buffer, start: number, end: number): void {
    if (this.trace) this.tracePub('PUB', subject, reply, -1, buf.subarray(start, end));
    if (!this.checkAuth()) return;
    this.publish(subject, reply, -1, buf, start, end);
  }

  onHpub(subject: string, reply: string | undefined, hdrLen: number, buf: Buffer, start: number, end: number): void {
    if (this.trace) this.tracePub('HPUB', subject, reply, hdrLen, buf.subarray(start, end));
    if (!this.checkAuth()) return;
    this.publish(subject, reply, hdrLen, buf, start, end);
  }

  private tracePub(op: string, subject: string, reply: string | undefined, hdrLen: number, payload: Buffer): void {
    const r = reply === undefined ? '' : ` ${reply}`;
    const h = hdrLen >= 0 ? ` ${hdrLen}` : '';
    this.traceIn(`${op} ${subject}${r}${h} ${payload.length}`);
    this.server.logger.trace(`${this.prefix}<<- MSG_PAYLOAD: [${JSON.stringify(payload.toString('utf8'))}]`);
  }

  private publish(subject: string, reply: string | undefined, hdrLen: number, buf: Buffer, start: number, end: number): void {
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
    const n = this.server.route(this, subject, reply, hdrLen, buf, start, end);
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
    if (target !== undefined) this.deliver(target, reply, undefined, NO_RESPONDERS_HDR.length, NO_RESPONDERS_HDR, 0, NO_RESPONDERS_HDR.length);
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

  /** Configuration reload of -D/-V: the trace flag is cached per connection. */
  refreshLogFlags(): void {
    this.trace = this.server.logger.isTrace;
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

  override removeSubscription(sub: NatsSubscription): void {
    if (sub.closed) return;
    sub.closed = true;
    this.subs.delete(sub.sid);
    this.server.sublist.remove(sub);
  }

  // ---- outbound --------------------------------------------------------------------

  /** Encodes one MSG/HMSG of the bytes buf[start, end) into the outbound buffer. */
  deliver(sub: NatsSubscription, subject: string, reply: string | undefined, hdrLen: number, buf: Uint8Array, start: number, end: number): void {
    if (this.closed) return;
    if (this.responses !== null && reply !== undefined) this.responses.noteRequest(reply);
    // As in the reference, an HPUB with a 0-byte header block is delivered as plain MSG.
    const isHpub = hdrLen > 0;
    const hdr = isHpub && this.headers ? hdrLen : -1;
    // A client that did not ask for headers gets MSG with the header block stripped.
    if (isHpub && !this.headers) start += hdrLen;
    const size = end - start;
    const maxPending = this.server.options.maxPending;
    // Worst-case control line size: UTF-8 may take 3 bytes per UTF-16 unit.
    const lineRoom = 64 + subject.length * 3 + (reply === undefined ? 0 : reply.length * 3) + sub.sidBytes!.length;
    if (this.queued + (this.pos - this.segStart) + this.socket.writableLength + lineRoom + size > maxPending) {
      this.slowConsumer(maxPending);
      return;
    }
    this.ensure(size >= REF_THRESHOLD ? lineRoom : lineRoom + size);
    if (hdr < 0 && subject === sub.lineSubject) this.putBytes(sub.lineBytes!);
    else {
      const at = this.pos;
      this.putBytes(hdr >= 0 ? HMSG_PREFIX : MSG_PREFIX);
      this.putString(subject);
      this.putBytes(sub.sidBytes!);
      if (hdr < 0 && subject === sub.subject && sub.lineBytes === null) {
        // A literal subscription's first MSG: its line start is kept (see lineBytes).
        sub.lineBytes = Buffer.from(this.buf.subarray(at, this.pos));
        sub.lineSubject = subject;
      }
    }
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
      this.parts.push(Buffer.from(buf.buffer, buf.byteOffset + start, size));
      this.queued += size;
      this.ensure(2);
    } else {
      this.putRange(buf, start, end);
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

  // ---- closing ---------------------------------------------------------------------

  /**
   * Closes the connection. Pending output is flushed first unless `hard` (slow consumers
   * and dead sockets get nothing more).
   */
  override close(reason: string, hard = false): void {
    if (this.closed) return;
    this.parser.stop();
    if (!hard) this.flushNow();
    this.closed = true;
    this.closeReason = reason;
    this.stopTime = new Date();
    // Snapshot before the subscriptions go, so closed-connection reports still list them.
    const snap = this.snapshot();
    this.keepalive.stop();
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.authTimer = this.deadlineTimer = null;
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
