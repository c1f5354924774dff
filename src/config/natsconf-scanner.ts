/**
 * The character level of the NATS configuration format: a cursor over the text that keeps
 * line and column, white space and comments, and the scalar tokens (quoted strings, `( )`
 * blocks, numbers with size suffixes). natsconf.ts builds the grammar of maps, arrays,
 * includes and variables on top of it.
 */
import { sizeSuffixMultiplier } from './units';
import { ConfParseError, type ConfPos, type ConfValue } from './natsconf-document';

export function isWS(c: string): boolean {
  return c === ' ' || c === '\t';
}
export function isNL(c: string): boolean {
  return c === '\n' || c === '\r';
}
export function isSpace(c: string): boolean {
  return isWS(c) || isNL(c) || c === '\v' || c === '\f';
}
export function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
export function describe(c: string): string {
  if (c === '') return 'EOF';
  if (c === '\n') return "'\\n'";
  if (c === '\r') return "'\\r'";
  return `'${c}'`;
}

export class ConfScanner {
  protected i = 0;
  private line = 1;
  private lineStart = 0;

  constructor(
    protected readonly src: string,
    /** Name used in error positions. */
    private readonly file: string,
  ) {}

  protected peek(offset = 0): string {
    return this.src.charAt(this.i + offset);
  }
  protected advance(): string {
    const c = this.src.charAt(this.i);
    if (c === '') return c;
    this.i++;
    if (c === '\n') {
      this.line++;
      this.lineStart = this.i;
    }
    return c;
  }
  protected here(): ConfPos {
    return { file: this.file, line: this.line, col: this.i - this.lineStart + 1 };
  }
  protected fail(msg: string, pos: ConfPos = this.here()): never {
    throw new ConfParseError(msg, pos);
  }
  protected skipWS(): void {
    while (isWS(this.peek())) this.advance();
  }
  protected atComment(): boolean {
    return this.peek() === '#' || (this.peek() === '/' && this.peek(1) === '/');
  }
  protected skipComment(): void {
    while (this.peek() !== '' && !isNL(this.peek())) this.advance();
  }
  protected skipSpaceAndComments(): void {
    for (;;) {
      const c = this.peek();
      if (isSpace(c)) this.advance();
      else if (this.atComment()) this.skipComment();
      else return;
    }
  }

  // ---------------------------------------------------------------- scalars
  protected parseDQString(): string {
    const start = this.here();
    this.advance();
    let s = '';
    for (;;) {
      const c = this.peek();
      if (c === '') this.fail('unterminated double-quoted string', start);
      if (c === '"') {
        this.advance();
        return s;
      }
      if (c === '\\') {
        const escPos = this.here();
        this.advance();
        const e = this.advance();
        switch (e) {
          case 't': s += '\t'; break;
          case 'n': s += '\n'; break;
          case 'r': s += '\r'; break;
          case '"': s += '"'; break;
          case '\\': s += '\\'; break;
          case 'x': {
            const hex = this.advance() + this.advance();
            if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail(`expected two hexadecimal digits after '\\x', but got '${hex}'`, escPos);
            s += String.fromCharCode(parseInt(hex, 16));
            break;
          }
          default:
            this.fail(
              `invalid escape character ${describe(e)}; only \\xXX, \\t, \\n, \\r, \\", \\\\ are allowed`,
              escPos,
            );
        }
        continue;
      }
      s += this.advance();
    }
  }

  protected parseSQString(): string {
    const start = this.here();
    this.advance();
    let s = '';
    while (this.peek() !== "'") {
      if (this.peek() === '') this.fail('unterminated single-quoted string', start);
      s += this.advance();
    }
    this.advance();
    return s;
  }

  /** `( … )` block: raw text until a `)` alone on its line. */
  protected parseBlock(): string {
    const start = this.here();
    this.advance();
    const rest = this.src.slice(this.i);
    const m = /\r?\n[ \t]*\)[ \t]*(?=\r?\n|$)/.exec(rest);
    if (!m) this.fail("unterminated block: expected ')' on a line by itself", start);
    const text = rest.slice(0, m.index);
    const end = this.i + m.index + m[0].length;
    while (this.i < end) this.advance();
    return text;
  }

  protected parseNumberLike(): ConfValue {
    const pos = this.here();
    let tok = '';
    for (;;) {
      const ch = this.peek();
      if (ch === '' || isSpace(ch) || ch === ',' || ch === ';' || ch === ']' || ch === '}' || ch === '#') break;
      if (ch === '/' && this.peek(1) === '/') break;
      tok += this.advance();
    }
    if (/^-?\d+$/.test(tok)) return this.toInt(tok, 1, pos);
    if (/^-?\d+\.\d+$/.test(tok)) return Number(tok);
    const sized = /^(-?\d+)([A-Za-z]+)$/.exec(tok);
    if (sized) {
      const mult = sizeSuffixMultiplier(sized[2] as string);
      if (mult !== undefined) return this.toInt(sized[1] as string, mult, pos);
      if (/^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(tok)) {
        this.fail(`invalid value ${tok}: durations must be quoted strings, e.g. "${tok}"`, pos);
      }
      this.fail(`invalid number "${tok}": unknown size suffix "${sized[2]}"`, pos);
    }
    if (/^-?\d+(\.\d+)?[a-zµ]/.test(tok) && /^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(tok)) {
      this.fail(`invalid value ${tok}: durations must be quoted strings, e.g. "${tok}"`, pos);
    }
    // ISO8601 Zulu datetime, IP addresses (127.0.0.1:4222) and similar: strings.
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(tok)) return tok;
    if (/^\d+(\.\d+){2,}(:\d+)?$/.test(tok) || /^[\d.:-]+$/.test(tok)) {
      if (tok.startsWith('-') && !/\d/.test(tok.slice(1, 2))) this.fail(`expected a digit after '-' but got "${tok}"`, pos);
      return tok;
    }
    this.fail(`invalid number "${tok}"`, pos);
  }

  private toInt(digits: string, mult: number, pos: ConfPos): number {
    const big = BigInt(digits) * BigInt(mult);
    if (big > 9223372036854775807n || big < -9223372036854775808n) this.fail(`integer "${digits}" is out of range`, pos);
    const n = Number(big);
    if (!Number.isSafeInteger(n)) this.fail(`integer "${digits}" is too large (max ${Number.MAX_SAFE_INTEGER})`, pos);
    return n;
  }
}
