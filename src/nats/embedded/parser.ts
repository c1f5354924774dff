/**
 * Incremental parser of client → server NATS protocol ops (spec §2.1).
 *
 * Control lines are found with `Buffer.indexOf('\n')` (native, fast) rather than a
 * byte-at-a-time state machine; only a line split across chunks is copied. A payload that
 * sits entirely inside one chunk is handed over as a range of that chunk (zero copy); a split
 * payload is assembled into one exact-size buffer. Chunks may split anywhere, including
 * inside the CRLF that ends a payload.
 *
 * The parser validates framing (verbs, arg counts, sizes, limits); semantic checks
 * (subjects, auth, permissions) belong to the connection.
 */
import { StanServerError } from '../../errors';
import { ChunkView, LastString } from './last-string';

export interface ParserHandler {
  onConnect(json: string): void;
  onPing(): void;
  onPong(): void;
  /**
   * The payload is buf[start, end): the chunk it was read in when it lies in one (no copy, and
   * no view object per message), else an assembled buffer of its own. The bytes are never
   * written again; the handler may keep a view of them.
   */
  onPub(subject: string, reply: string | undefined, buf: Buffer, start: number, end: number): void;
  /** The payload holds headers + body; `hdrLen` is the header block length. */
  onHpub(subject: string, reply: string | undefined, hdrLen: number, buf: Buffer, start: number, end: number): void;
  onSub(subject: string, queue: string | undefined, sid: string): void;
  onUnsub(sid: string, max: number | undefined): void;
  /** A `-ERR` sent by the client (the connection closes). */
  onClientError(text: string): void;
  /** Framing violation: parsing has stopped; the connection must be closed. */
  onProtocolError(err: ProtocolError): void;
}

/**
 * `errText` is what goes into `-ERR '…'` (undefined = close without `-ERR`, spec §2.7);
 * `message` is for the log.
 */
export class ProtocolError extends StanServerError {
  override readonly kind = 'client-protocol' as const;
  constructor(
    readonly errText: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const ERR_UNKNOWN_OP = 'Unknown Protocol Operation';
export const ERR_MAX_CONTROL_LINE = 'maximum control line exceeded';
export const ERR_MAX_PAYLOAD = 'Maximum Payload Violation';

export interface ParserLimits {
  maxControlLine: number;
  maxPayload: number;
}

const enum State {
  Op,
  Payload,
  PayloadCR,
  PayloadLF,
  Stopped,
}

const enum Verb {
  Unknown,
  Connect,
  Ping,
  Pong,
  Pub,
  Hpub,
  Sub,
  Unsub,
  Info,
  Ok,
  Err,
}

const SP = 32;
const TAB = 9;
const CR = 13;
const LF = 10;
/** Verbs that may sit in a partial line; used to reject garbage before its newline arrives. */
const VERBS = ['connect', 'ping', 'pong', 'pub', 'hpub', 'sub', 'unsub', 'info', '+ok', '-err'];
/** Longest verb plus separator: slack on top of max_control_line for a partial line. */
const VERB_SLACK = 8;
const MAX_ARGS = 5;

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c | 0x20 : c;
}

function isSpace(c: number): boolean {
  return c === SP || c === TAB;
}

/** Parses a non-negative decimal; -1 if empty, non-numeric, or absurdly long. */
function verbIs(line: Buffer, s: number, len: number, word: string): boolean {
  if (len !== word.length) return false;
  for (let k = 0; k < len; k++) if (lower(line[s + k]) !== word.charCodeAt(k)) return false;
  return true;
}

/** Parses a non-negative decimal in buf[s..e); -1 if empty, non-numeric, or absurdly long (also the bench's MSG reader, bench/nats-frames.ts). */
export function parseSize(buf: Buffer, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

export class ProtocolParser {
  /** Set by the connection once CONNECT said `headers:true`; HPUB is refused otherwise. */
  headers = false;
  private state = State.Op;
  private pending: Buffer | null = null;
  // Current PUB/HPUB being assembled.
  private subject = '';
  private reply: string | undefined = undefined;
  private hdrLen = -1;
  private size = 0;
  /** An assembled payload (one split across chunks), at offset 0. */
  private payload: Buffer | null = null;
  /**
   * The chunk the current payload lies in, at payloadStart, when payloadInChunk. Kept from one
   * message to the next and stored only when the chunk changes: the ~150 PUBs of a chunk would
   * each store a young buffer into this long-lived parser (a write barrier per message).
   */
  private payloadChunk: Buffer = EMPTY;
  private payloadInChunk = false;
  private payloadStart = 0;
  private payloadPos = 0;
  /** Token boundaries of the current control line: [start0, end0, start1, end1, ...]. */
  private readonly args = new Int32Array(MAX_ARGS * 2);
  private verbEnd = 0;
  /** Set by suspend(): input is held (in order) until resume(). */
  private suspended = false;
  private readonly held: Buffer[] = [];
  /** PUB subjects and replies repeat message after message: the same string objects again. */
  private readonly lastSubject = new LastString();
  private readonly lastReply = new LastString();
  /** The line buffer read by words when compared with lastSubject/lastReply. */
  private readonly lineView = new ChunkView();

  constructor(
    private readonly handler: ParserHandler,
    private readonly limits: ParserLimits,
  ) {}

  /** Stops parsing for good (the connection is closing). */
  stop(): void {
    this.state = State.Stopped;
    this.pending = null;
    this.payload = null;
    this.payloadChunk = EMPTY;
    this.held.length = 0;
  }

  get stopped(): boolean {
    return this.state === State.Stopped;
  }

  /**
   * Called from a handler: stop after the current op and hold all further input until
   * resume(). Used while a CONNECT's credentials are checked asynchronously, so the ops
   * that follow it run only once the connection is authorized.
   */
  suspend(): void {
    this.suspended = true;
  }

  /** Parses the held input (it may suspend again). */
  resume(): void {
    this.suspended = false;
    while (this.held.length > 0 && !this.suspended && this.state !== State.Stopped) {
      this.parse(this.held.shift()!);
    }
  }

  parse(chunk: Buffer): void {
    this.parseChunk(chunk);
    // Let go of the chunk once it is parsed (one store per chunk, not per message): an idle
    // connection would otherwise keep its last socket chunk alive (review of the eighth
    // session: 300 idle publishers of one ~60 KB PUB each held 123 KB per connection instead
    // of 64). A payload still waiting for its CRLF keeps its chunk.
    if (!this.payloadInChunk) this.payloadChunk = EMPTY;
    this.lineView.release();
  }

  private parseChunk(chunk: Buffer): void {
    if (this.suspended) {
      this.held.push(chunk);
      return;
    }
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case State.Op: {
          if (this.pending === null) {
            const after = this.repeatedPub(chunk, i, n);
            if (after > 0) {
              i = after;
              break;
            }
          }
          const nl = chunk.indexOf(LF, i);
          if (nl < 0) {
            this.stash(chunk, i, n);
            return;
          }
          let line: Buffer;
          let ls: number;
          if (this.pending !== null) {
            line = Buffer.concat([this.pending, chunk.subarray(i, nl)]);
            ls = 0;
            this.pending = null;
          } else {
            line = chunk;
            ls = i;
          }
          let le = line === chunk ? nl : line.length;
          if (le > ls && line[le - 1] === CR) le--;
          i = nl + 1;
          this.processLine(line, ls, le);
          if (this.suspended) {
            // The rest of this chunk goes before anything held later.
            if (i < n && (this.state as State) !== State.Stopped) this.held.unshift(chunk.subarray(i));
            return;
          }
          break;
        }
        case State.Payload: {
          const need = this.size - this.payloadPos;
          const avail = n - i;
          if (this.payload === null) {
            if (avail >= need) {
              // Whole payload inside this chunk: its range, no copy.
              if (this.payloadChunk !== chunk) this.payloadChunk = chunk;
              this.payloadInChunk = true;
              this.payloadStart = i;
              this.payloadPos = need;
              i += need;
              this.state = State.PayloadCR;
              break;
            }
            this.payload = Buffer.allocUnsafe(this.size);
            this.payloadStart = 0;
          }
          const take = avail < need ? avail : need;
          chunk.copy(this.payload, this.payloadPos, i, i + take);
          this.payloadPos += take;
          i += take;
          if (this.payloadPos === this.size) this.state = State.PayloadCR;
          break;
        }
        case State.PayloadCR:
          if (chunk[i] !== CR) return this.fail(ERR_UNKNOWN_OP, 'missing CRLF after payload');
          i++;
          this.state = State.PayloadLF;
          break;
        case State.PayloadLF: {
          if (chunk[i] !== LF) return this.fail(ERR_UNKNOWN_OP, 'missing CRLF after payload');
          i++;
          this.state = State.Op;
          const payload = this.payloadInChunk ? this.payloadChunk : this.payload!;
          const ps = this.payloadStart;
          this.payload = null;
          this.payloadInChunk = false;
          if (this.hdrLen < 0) this.handler.onPub(this.subject, this.reply, payload, ps, ps + this.size);
          else this.handler.onHpub(this.subject, this.reply, this.hdrLen, payload, ps, ps + this.size);
          break;
        }
        case State.Stopped:
          return;
      }
    }
  }

  /** Keeps a partial control line, rejecting it early if it cannot become valid. */
  private stash(chunk: Buffer, s: number, e: number): void {
    const part = chunk.subarray(s, e);
    const buf = this.pending === null ? Buffer.from(part) : Buffer.concat([this.pending, part]);
    if (!this.plausibleVerb(buf)) return this.fail(ERR_UNKNOWN_OP, 'unknown protocol operation');
    if (buf.length > this.limits.maxControlLine + VERB_SLACK) {
      return this.fail(ERR_MAX_CONTROL_LINE, `maximum control line exceeded: ${buf.length}`);
    }
    this.pending = buf;
  }

  /** Could the bytes seen so far (no newline yet) still start a valid op? */
  private plausibleVerb(buf: Buffer): boolean {
    let end = 0;
    while (end < buf.length && !isSpace(buf[end]) && buf[end] !== CR) end++;
    const complete = end < buf.length;
    for (const v of VERBS) {
      // PING/PONG ignore anything up to the newline (as the reference does).
      const limit = v === 'ping' || v === 'pong' ? Math.min(end, 4) : end;
      if (limit > v.length || (complete && limit < v.length && v !== 'ping' && v !== 'pong')) continue;
      let ok = true;
      for (let k = 0; k < limit; k++) {
        if (lower(buf[k]) !== v.charCodeAt(k)) {
          ok = false;
          break;
        }
      }
      if (ok) return true;
    }
    return false;
  }

  private fail(errText: string | undefined, message: string): void {
    this.stop();
    this.handler.onProtocolError(new ProtocolError(errText, message));
  }

  /** Identifies the verb of [s, e); leaves the verb's end offset in `this.verbEnd`. */
  private identify(line: Buffer, s: number, e: number): Verb {
    let ve = s;
    while (ve < e && !isSpace(line[ve])) ve++;
    this.verbEnd = ve;
    const len = ve - s;
    const c0 = lower(line[s]);
    // PING/PONG: the reference ignores whatever follows the verb up to the newline.
    if (c0 === 112 && e - s >= 4 && lower(line[s + 2]) === 110 && lower(line[s + 3]) === 103) {
      const c1 = lower(line[s + 1]);
      if (c1 === 105) return Verb.Ping;
      if (c1 === 111) return Verb.Pong;
    }
    switch (c0) {
      case 112: // p
        if (verbIs(line, s, len, 'pub')) return Verb.Pub;
        break;
      case 104: // h
        if (verbIs(line, s, len, 'hpub')) return Verb.Hpub;
        break;
      case 115: // s
        if (verbIs(line, s, len, 'sub')) return Verb.Sub;
        break;
      case 117: // u
        if (verbIs(line, s, len, 'unsub')) return Verb.Unsub;
        break;
      case 99: // c
        if (verbIs(line, s, len, 'connect')) return Verb.Connect;
        break;
      case 105: // i
        if (verbIs(line, s, len, 'info')) return Verb.Info;
        break;
      case 43: // +
        if (verbIs(line, s, len, '+ok')) return Verb.Ok;
        break;
      case 45: // -
        if (verbIs(line, s, len, '-err')) return Verb.Err;
        break;
    }
    return Verb.Unknown;
  }

  /** Splits [s, e) on runs of space/TAB into this.args; returns the count (MAX_ARGS+1 = too many). */
  private split(line: Buffer, s: number, e: number): number {
    const a = this.args;
    let count = 0;
    let i = s;
    while (i < e) {
      while (i < e && isSpace(line[i])) i++;
      if (i >= e) break;
      const ts = i;
      while (i < e && !isSpace(line[i])) i++;
      if (count === MAX_ARGS) return MAX_ARGS + 1;
      a[count * 2] = ts;
      a[count * 2 + 1] = i;
      count++;
    }
    return count;
  }

  private str(line: Buffer, k: number): string {
    return line.toString('utf8', this.args[k * 2], this.args[k * 2 + 1]);
  }

  private processLine(line: Buffer, s: number, e: number): void {
    if (e <= s) return this.fail(ERR_UNKNOWN_OP, 'empty protocol line');
    const verb = this.identify(line, s, e);
    const ve = this.verbEnd;
    if (verb === Verb.Unknown) return this.fail(ERR_UNKNOWN_OP, 'unknown protocol operation');
    if (verb === Verb.Ping) return this.handler.onPing();
    if (verb === Verb.Pong) return this.handler.onPong();
    if (verb === Verb.Ok) return;
    // Every other verb needs a separator and arguments; `PUB\r\n` is an unknown op.
    if (ve >= e) return this.fail(ERR_UNKNOWN_OP, 'missing arguments');
    if (e - ve - 1 > this.limits.maxControlLine) {
      return this.fail(ERR_MAX_CONTROL_LINE, `maximum control line exceeded: ${e - ve - 1} vs ${this.limits.maxControlLine}`);
    }
    switch (verb) {
      case Verb.Pub:
        return this.pub(line, ve, e);
      case Verb.Hpub:
        return this.hpub(line, ve, e);
      case Verb.Sub: {
        const n = this.split(line, ve, e);
        if (n !== 2 && n !== 3) return this.fail(undefined, `processSub Parse Error: "${rest(line, ve, e)}"`);
        const subject = this.str(line, 0);
        if (n === 2) return this.handler.onSub(subject, undefined, this.str(line, 1));
        return this.handler.onSub(subject, this.str(line, 1), this.str(line, 2));
      }
      case Verb.Unsub: {
        const n = this.split(line, ve, e);
        if (n === 0) return this.fail(ERR_UNKNOWN_OP, 'UNSUB without arguments');
        if (n > 2) return this.fail(undefined, `processUnsub Parse Error: "${rest(line, ve, e)}"`);
        if (n === 1) return this.handler.onUnsub(this.str(line, 0), undefined);
        const max = parseSize(line, this.args[2], this.args[3]);
        if (max < 0) return this.fail(undefined, `processUnsub Parse Error: "${rest(line, ve, e)}"`);
        return this.handler.onUnsub(this.str(line, 0), max);
      }
      case Verb.Connect:
        return this.handler.onConnect(rest(line, ve, e));
      case Verb.Err:
        return this.handler.onClientError(rest(line, ve, e));
      case Verb.Info:
        // Clients have no business sending INFO; the reference ignores it for clients.
        return;
      default:
        return this.fail(ERR_UNKNOWN_OP, 'unknown protocol operation');
    }
  }

  /**
   * A whole `PUB <last subject> [<last reply> ]<size>\r\n` at chunk[s, n) (nearly every line
   * of a STAN publisher): handled without looking for the line's end first (`indexOf`) nor
   * identifying the verb (~0.05 µs per PUB). The line's end is where it must be if it repeats
   * the last subject (and reply): the digits after them and CRLF; pubSameAsLast then checks the
   * line exactly as the general path would (the cached tokens hold no LF, so no earlier line end
   * can hide in it). Returns the index after the line, or -1 (nothing consumed).
   */
  private repeatedPub(chunk: Buffer, s: number, n: number): number {
    const subjLen = this.lastSubject.length;
    if (subjLen < 0 || chunk[s] !== 80 || chunk[s + 1] !== 85 || chunk[s + 2] !== 66) return -1;
    const args = s + 3;
    // The size after `PUB <subject> <reply> `, else after `PUB <subject> `.
    const replyLen = this.lastReply.length;
    let e = replyLen >= 0 ? digitsThenCrlf(chunk, args + subjLen + replyLen + 3, n) : -1;
    if (e < 0) e = digitsThenCrlf(chunk, args + subjLen + 2, n);
    if (e < 0 || e - args - 1 > this.limits.maxControlLine) return -1;
    return this.pubSameAsLast(chunk, args, e) ? e + 2 : -1;
  }

  /**
   * `PUB <subject> [reply] <size>` with single spaces and the subject (and reply) of the last
   * PUB: one comparison pass instead of splitting the line and then comparing the tokens, as
   * every PUB of a STAN publisher (and every ack of a subscriber) repeats them. Returns false
   * (nothing consumed) for anything else: the general path then parses and validates it.
   */
  private pubSameAsLast(line: Buffer, s: number, e: number): boolean {
    const subj = this.lastSubject;
    if (line[s] !== SP) return false;
    const view = this.lineView.of(line);
    if (!subj.matchesAt(line, view, s + 1, e)) return false;
    let p = s + 1 + subj.length;
    if (line[p] !== SP) return false;
    p++;
    let reply: string | undefined;
    let size = parseSize(line, p, e);
    if (size < 0) {
      const rep = this.lastReply;
      if (!rep.matchesAt(line, view, p, e) || line[p + rep.length] !== SP) return false;
      size = parseSize(line, p + rep.length + 1, e);
      if (size < 0) return false;
      reply = rep.value;
    }
    if (size > this.limits.maxPayload) return false;
    this.subject = subj.value;
    this.reply = reply;
    this.startPayload(-1, size);
    return true;
  }

  private pub(line: Buffer, s: number, e: number): void {
    if (this.pubSameAsLast(line, s, e)) return;
    const n = this.split(line, s, e);
    if (n !== 2 && n !== 3) return this.fail(undefined, `processPub Parse Error: "${rest(line, s, e)}"`);
    const a = this.args;
    const size = parseSize(line, a[(n - 1) * 2], a[(n - 1) * 2 + 1]);
    if (size < 0) return this.fail(undefined, `processPub Bad or Missing Size: "${rest(line, s, e)}"`);
    if (size > this.limits.maxPayload) {
      return this.fail(ERR_MAX_PAYLOAD, `maximum payload exceeded: ${size} vs ${this.limits.maxPayload}`);
    }
    this.subject = this.lastSubject.get(line, a[0], a[1]);
    this.reply = n === 3 ? this.lastReply.get(line, a[2], a[3]) : undefined;
    this.startPayload(-1, size);
  }

  private hpub(line: Buffer, s: number, e: number): void {
    if (!this.headers) return this.fail(undefined, 'message headers not supported');
    const n = this.split(line, s, e);
    if (n !== 3 && n !== 4) return this.fail(undefined, `processHeaderPub Parse Error: "${rest(line, s, e)}"`);
    const a = this.args;
    const hdr = parseSize(line, a[(n - 2) * 2], a[(n - 2) * 2 + 1]);
    const size = parseSize(line, a[(n - 1) * 2], a[(n - 1) * 2 + 1]);
    if (hdr < 0 || size < 0 || hdr > size) {
      return this.fail(undefined, `processHeaderPub Bad or Missing Size: "${rest(line, s, e)}"`);
    }
    if (size > this.limits.maxPayload) {
      return this.fail(ERR_MAX_PAYLOAD, `maximum payload exceeded: ${size} vs ${this.limits.maxPayload}`);
    }
    this.subject = this.str(line, 0);
    this.reply = n === 4 ? this.str(line, 1) : undefined;
    this.startPayload(hdr, size);
  }

  private startPayload(hdrLen: number, size: number): void {
    this.hdrLen = hdrLen;
    this.size = size;
    this.payload = null;
    this.payloadInChunk = false;
    this.payloadStart = 0;
    this.payloadPos = 0;
    this.state = State.Payload;
    if (size === 0) {
      this.payload = EMPTY;
      this.state = State.PayloadCR;
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** End of 1–15 decimal digits at buf[p..] followed by CRLF within n (the CR's index), else -1. */
function digitsThenCrlf(buf: Buffer, p: number, n: number): number {
  let q = p;
  while (q < n && q - p < 16) {
    const c = buf[q];
    if (c < 48 || c > 57) break;
    q++;
  }
  return q > p && q + 1 < n && buf[q] === CR && buf[q + 1] === LF ? q : -1;
}

/** The arguments part of a line (after the verb), trimmed of leading blanks. */
function rest(line: Buffer, s: number, e: number): string {
  while (s < e && isSpace(line[s])) s++;
  return line.toString('utf8', s, e);
}
