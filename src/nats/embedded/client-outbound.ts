/**
 * The outbound side of one client socket connection of the embedded NATS server: the write
 * buffer that protocol lines and messages are encoded into, its flush, and the two
 * slow-consumer rules (pending bytes above max_pending, a write older than write_deadline).
 *
 * Outbound bytes are appended into a per-connection buffer and written once per event
 * loop turn (setImmediate), so a burst of N messages costs one socket write (one writev
 * when large payloads are referenced instead of copied), never one syscall per message.
 *
 * A base class rather than a collaborator object: the MSG encoder (ClientConnection.deliver,
 * the publish hot path) writes into `buf`/`pos` directly, without a call per field.
 */
import type { Socket } from 'node:net';
import { CloseReason } from './close-reason';
import type { ConnectionHost } from './host';

/** Size of each outbound backing buffer; small messages are copied into it. */
const OUT_CHUNK = 64 * 1024;
/** Payloads at least this big are queued by reference instead of copied. */
export const REF_THRESHOLD = 32 * 1024;

const OK = Buffer.from('+OK\r\n');

export abstract class ClientOutbound {
  closed = false;
  protected trace: boolean;
  protected lastActivity = Date.now();

  // Outbound buffering.
  protected buf: Buffer = Buffer.allocUnsafe(0);
  protected pos = 0;
  protected segStart = 0;
  protected readonly parts: Buffer[] = [];
  protected queued = 0;
  private flushScheduled = false;
  /** Issue times of socket writes not yet acknowledged, for the write deadline. */
  private readonly writeTimes: number[] = [];
  protected deadlineTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly cid: number,
    protected readonly socket: Socket,
    protected readonly server: ConnectionHost,
    /** `<ip>:<port> - cid:<n> - `, the reference's log line prefix. */
    protected readonly prefix: string,
  ) {
    this.trace = server.logger.isTrace;
  }

  /** Closes the connection; `hard` = without flushing pending output. */
  abstract close(reason: string, hard?: boolean): void;

  /** Sends `-ERR '<text>'`, flushes it, then closes. */
  closeWithError(text: string, reason: string): void {
    if (this.closed) return;
    this.sendErr(text);
    this.close(reason);
  }

  protected sendOk(): void {
    this.sendRaw(OK);
    if (this.trace) this.server.logger.trace(`${this.prefix}->> [OK]`);
  }

  protected sendErr(text: string): void {
    this.sendRaw(Buffer.from(`-ERR '${text}'\r\n`));
    if (this.trace) this.server.logger.trace(`${this.prefix}->> [-ERR '${text}']`);
  }

  /** Queues a complete protocol line. */
  protected sendRaw(bytes: Buffer): void {
    if (this.closed) return;
    this.ensure(bytes.length);
    this.putBytes(bytes);
    this.scheduleFlush();
  }

  /** Makes room for `n` more bytes in the current backing buffer. */
  protected ensure(n: number): void {
    if (this.buf.length - this.pos >= n) return;
    this.seal();
    this.buf = Buffer.allocUnsafe(n > OUT_CHUNK ? n : OUT_CHUNK);
    this.pos = 0;
    this.segStart = 0;
  }

  /** Moves the bytes written since the last seal into the list of parts to write. */
  protected seal(): void {
    if (this.pos > this.segStart) {
      this.parts.push(this.buf.subarray(this.segStart, this.pos));
      this.queued += this.pos - this.segStart;
      this.segStart = this.pos;
    }
  }

  protected putBytes(b: Buffer): void {
    const n = b.length;
    if (n > 8) {
      // TypedArray `set` of a whole Buffer (no view to make): measured in isolation for 40 bytes
      // 18–23 ns, a JS byte loop 80–140 ns. Not `Buffer.copy`, whose JS wrapper (`_copyActual`,
      // ~2.5% of an earlier publish profile) costs more than the copy.
      this.buf.set(b, this.pos);
      this.pos += n;
      return;
    }
    // `MSG `, the ` <sid> ` bytes: a few bytes, copied in place.
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = b[i];
    this.pos = p;
  }

  /**
   * Copies src[start, end) (room ensured by the caller). A PubAck (~25 bytes) is copied in JS
   * as putBytes does; larger ranges through one plain `Uint8Array` view (measured in isolation
   * for 128 bytes: ~30 ns with `new Uint8Array` + `set`, ~60 ns with `subarray`, whose Buffer
   * species constructor is the slow part, and 120–290 ns with a JS loop).
   */
  protected putRange(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    const buf = this.buf;
    if (n <= 32) {
      // Four bytes per iteration: ~2× a plain byte loop for a PubAck's 24 bytes (in isolation).
      // ack-group.ts has the same loop on purpose (one shared function measured slower: see there).
      const p = this.pos;
      let i = 0;
      for (; i + 4 <= n; i += 4) {
        buf[p + i] = src[start + i];
        buf[p + i + 1] = src[start + i + 1];
        buf[p + i + 2] = src[start + i + 2];
        buf[p + i + 3] = src[start + i + 3];
      }
      for (; i < n; i++) buf[p + i] = src[start + i];
      this.pos = p + n;
      return;
    }
    buf.set(start === 0 && end === src.length ? src : new Uint8Array(src.buffer, src.byteOffset + start, n), this.pos);
    this.pos += n;
  }

  /** Callers must have ensured length*3 bytes of room. ASCII is copied in JS (short strings). */
  protected putString(s: string): void {
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

  protected putInt(v: number): void {
    if (v < 10) {
      this.buf[this.pos++] = 48 + v;
      return;
    }
    if (v < 1000) {
      // PubAcks, acks and small messages: no String(v) per message.
      const buf = this.buf;
      if (v >= 100) {
        buf[this.pos++] = 48 + Math.floor(v / 100);
        v %= 100;
        buf[this.pos++] = 48 + Math.floor(v / 10);
      } else buf[this.pos++] = 48 + Math.floor(v / 10);
      buf[this.pos++] = 48 + (v % 10);
      return;
    }
    const s = String(v);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  protected scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushNow);
  }

  protected readonly flushNow = (): void => {
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

  protected slowConsumer(maxPending: number): void {
    this.server.logger.notice(`${this.prefix}Slow Consumer Detected: MaxPending of ${maxPending} Exceeded`);
    this.server.noteSlowConsumer();
    this.close(CloseReason.SlowConsumerPending, true);
  }
}
