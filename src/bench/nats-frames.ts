/**
 * The server → client side of the NATS text protocol, parsed on the bytes for the catch-up
 * load generator (catchup-loadgen.ts): `MSG <subject> <sid> [reply] <size>\r\n<payload>\r\n`,
 * PING, PONG, INFO, +OK, -ERR. No string, object or copy per MSG: the handler gets the read
 * buffer and the payload's bounds (a catch-up receives hundreds of thousands per second, and
 * every microsecond the client spends is a microsecond the server does not get on a 2-core
 * machine). A frame split over two socket reads is kept and completed by the next one.
 */

/** A MSG: `buf[start..end)` is the payload, `buf[replyStart..replyEnd)` the reply subject (empty: none). */
export type MsgHandler = (buf: Buffer, start: number, end: number, replyStart: number, replyEnd: number) => void;

export interface FrameEvents {
  /** The handler of a subscription id, or undefined (a MSG for it is dropped). */
  handlerOf(sid: number): MsgHandler | undefined;
  onPing(): void;
  onPong(): void;
  onInfo(json: string): void;
  onError(text: string): void;
}

import { parseSize } from '../nats/embedded/parser';

const CR = 13;
const LF = 10;
const SP = 32;
const TAB = 9;

export class NatsFrameParser {
  private rest: Buffer | null = null;
  /** Token bounds of the MSG line being read (subject, sid, [reply], size). */
  private readonly tokStart = new Int32Array(5);
  private readonly tokEnd = new Int32Array(5);

  constructor(private readonly ev: FrameEvents) {}

  /** Parses one socket read; throws on a frame that is not NATS protocol. */
  feed(chunk: Buffer): void {
    const buf = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = null;
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      const eol = buf.indexOf(LF, pos);
      if (eol < 0) break;
      const lineEnd = eol > pos && buf[eol - 1] === CR ? eol - 1 : eol;
      const c = buf[pos] | 0x20; // lower case
      if (c === 0x6d /* m */) {
        const next = this.msg(buf, pos + 4, lineEnd, eol + 1);
        if (next < 0) break; // payload not complete yet
        pos = next;
        continue;
      }
      const line = buf.toString('latin1', pos, lineEnd);
      const op = line.slice(0, 4).toUpperCase();
      if (op === 'PING') this.ev.onPing();
      else if (op === 'PONG') this.ev.onPong();
      else if (op === 'INFO') this.ev.onInfo(line.slice(5));
      else if (op === '-ERR') this.ev.onError(line.slice(5));
      else if (op !== '+OK') throw new Error(`NATS protocol: unexpected line "${line.slice(0, 80)}"`);
      pos = eol + 1;
    }
    if (pos < len) this.rest = buf.subarray(pos);
  }

  /** Handles the MSG whose arguments are buf[from..lineEnd); returns the position after it, or -1 if incomplete. */
  private msg(buf: Buffer, from: number, lineEnd: number, payloadStart: number): number {
    const ts = this.tokStart;
    const te = this.tokEnd;
    let n = 0;
    let i = from;
    while (i < lineEnd) {
      while (i < lineEnd && (buf[i] === SP || buf[i] === TAB)) i++;
      if (i >= lineEnd) break;
      if (n === 5) throw new Error('NATS protocol: MSG with too many arguments');
      ts[n] = i;
      while (i < lineEnd && buf[i] !== SP && buf[i] !== TAB) i++;
      te[n++] = i;
    }
    if (n !== 3 && n !== 4) throw new Error(`NATS protocol: MSG with ${n} arguments`);
    const sid = parseSize(buf, ts[1], te[1]);
    const size = parseSize(buf, ts[n - 1], te[n - 1]);
    if (sid < 0 || size < 0) throw new Error('NATS protocol: MSG with a sid or size that is not a number');
    const end = payloadStart + size;
    if (end + 2 > buf.length) return -1;
    const h = this.ev.handlerOf(sid);
    if (h !== undefined) {
      if (n === 4) h(buf, payloadStart, end, ts[2], te[2]);
      else h(buf, payloadStart, end, 0, 0);
    }
    return end + 2;
  }
}
