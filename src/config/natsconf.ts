/**
 * Parser for the NATS configuration file format (as read by nats-server and the reference
 * streaming server):
 *
 *   key: value   key = value   key value        # separators
 *   map { a: 1, b: 2 }   map: { … }   map = { … }
 *   arr [1, 2, "x"]                              # ',' or new lines between elements
 *   # comment   // comment
 *   "double quoted\n"  'single quoted raw'  unquoted_string
 *   1024  1MB  10KB  1G  -1  1.5                 # numbers, with size suffixes
 *   true/false/yes/no/on/off                     # booleans (unquoted)
 *   127.0.0.1:4222                               # IP-like values are strings
 *   include "other.conf"                         # relative to the including file
 *   $VAR                                         # variable: enclosing maps, then environment
 *
 * The output is a plain JS tree; positions of every key and array element are kept on the
 * side (see {@link ConfDocument.pos}) so that callers can report `file:line:col` errors.
 * Durations are strings here (`"1h"`): the format has no duration type; unquoted `1h`
 * is rejected with a hint to quote it.
 *
 * Size (~590 lines): the grammar is one unit (lexer, values, variables, includes and
 * positions feed each other); splitting the recursive-descent parser by production would
 * spread one grammar over files without making any part reusable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sizeSuffixMultiplier } from './units';
import { StanServerError, errorText } from '../errors';

export type ConfValue = string | number | boolean | ConfValue[] | ConfMap;
export interface ConfMap {
  [key: string]: ConfValue;
}

export interface ConfPos {
  file: string;
  line: number;
  col: number;
}

export class ConfParseError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(
    message: string,
    readonly pos?: ConfPos,
  ) {
    super(pos ? `${formatPos(pos)}: ${message}` : message);
    this.name = 'ConfParseError';
  }
}

export function formatPos(p: ConfPos): string {
  return `${p.file}:${p.line}:${p.col}`;
}

export function isConfMap(v: ConfValue | undefined): v is ConfMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A parsed configuration: the value tree plus source positions. */
export class ConfDocument {
  private readonly keyPos = new WeakMap<object, Map<string, ConfPos>>();
  private readonly elemPos = new WeakMap<object, ConfPos[]>();
  private readonly usedVars = new WeakMap<object, Set<string>>();

  constructor(
    readonly file: string,
    readonly root: ConfMap = {},
  ) {}

  /** Position of `container[key]` (map key) or `container[index]` (array element). */
  pos(container: ConfMap | ConfValue[], key: string | number): ConfPos | undefined {
    if (Array.isArray(container)) return typeof key === 'number' ? this.elemPos.get(container)?.[key] : undefined;
    return this.keyPos.get(container)?.get(String(key));
  }

  /** True when the key's value was referenced as `$key` somewhere (a variable definition). */
  isUsedVariable(container: ConfMap, key: string): boolean {
    return this.usedVars.get(container)?.has(key) ?? false;
  }

  /** @internal */
  setKeyPos(container: ConfMap, key: string, p: ConfPos): void {
    let m = this.keyPos.get(container);
    if (!m) {
      m = new Map();
      this.keyPos.set(container, m);
    }
    m.set(key, p);
  }

  /** @internal */
  setElemPos(container: ConfValue[], index: number, p: ConfPos): void {
    let a = this.elemPos.get(container);
    if (!a) {
      a = [];
      this.elemPos.set(container, a);
    }
    a[index] = p;
  }

  /** @internal */
  markUsedVar(container: ConfMap, key: string): void {
    let s = this.usedVars.get(container);
    if (!s) {
      s = new Set();
      this.usedVars.set(container, s);
    }
    s.add(key);
  }

  /** @internal copies positions of an included document's root keys. */
  adoptPositions(from: ConfDocument, fromMap: ConfMap, toMap: ConfMap): void {
    for (const k of Object.keys(fromMap)) {
      const p = from.pos(fromMap, k);
      if (p) this.setKeyPos(toMap, k, p);
    }
    // Nested containers are shared objects: copy their position tables too.
    const copy = (v: ConfValue): void => {
      if (Array.isArray(v)) {
        const a = from.elemPos.get(v);
        if (a) this.elemPos.set(v, a);
        v.forEach(copy);
      } else if (isConfMap(v)) {
        const m = from.keyPos.get(v);
        if (m) this.keyPos.set(v, m);
        const u = from.usedVars.get(v);
        if (u) this.usedVars.set(v, u);
        Object.values(v).forEach(copy);
      }
    };
    Object.values(fromMap).forEach(copy);
    const u = from.usedVars.get(fromMap);
    if (u) for (const k of u) this.markUsedVar(toMap, k);
  }
}

export interface ParseOptions {
  /** Environment for `$VAR` fallback; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Name used in error positions (default `<input>`); also the base for includes. */
  file?: string;
  /** @internal include chain, for cycle detection. */
  includeChain?: string[];
}

const MAX_INCLUDE_DEPTH = 32;
const BOOL_WORDS: Readonly<Record<string, boolean>> = {
  true: true,
  false: false,
  yes: true,
  no: false,
  on: true,
  off: false,
};

function isWS(c: string): boolean {
  return c === ' ' || c === '\t';
}
function isNL(c: string): boolean {
  return c === '\n' || c === '\r';
}
function isSpace(c: string): boolean {
  return isWS(c) || isNL(c) || c === '\v' || c === '\f';
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function describe(c: string): string {
  if (c === '') return 'EOF';
  if (c === '\n') return "'\\n'";
  if (c === '\r') return "'\\r'";
  return `'${c}'`;
}

type Context = 'top' | 'map' | 'array';

class ConfParser {
  private i = 0;
  private line = 1;
  private lineStart = 0;
  private readonly stack: ConfMap[] = [];

  constructor(
    private readonly src: string,
    private readonly doc: ConfDocument,
    private readonly opts: Required<Pick<ParseOptions, 'file'>> & ParseOptions,
  ) {}

  parse(): void {
    this.stack.push(this.doc.root);
    // A top-level document may be wrapped in braces: `{ a: 1 }`.
    this.skipSpaceAndComments();
    let wrapped = false;
    if (this.peek() === '{') {
      wrapped = true;
      this.advance();
    }
    this.parseMapBody(this.doc.root, wrapped ? 'map' : 'top');
    if (wrapped) {
      this.skipSpaceAndComments();
      if (this.peek() !== '') this.fail(`unexpected ${describe(this.peek())} after the closing '}'`);
    }
  }

  // ---------------------------------------------------------------- low level
  private peek(offset = 0): string {
    return this.src.charAt(this.i + offset);
  }
  private advance(): string {
    const c = this.src.charAt(this.i);
    if (c === '') return c;
    this.i++;
    if (c === '\n') {
      this.line++;
      this.lineStart = this.i;
    }
    return c;
  }
  private here(): ConfPos {
    return { file: this.opts.file, line: this.line, col: this.i - this.lineStart + 1 };
  }
  private fail(msg: string, pos: ConfPos = this.here()): never {
    throw new ConfParseError(msg, pos);
  }
  private skipWS(): void {
    while (isWS(this.peek())) this.advance();
  }
  private atComment(): boolean {
    return this.peek() === '#' || (this.peek() === '/' && this.peek(1) === '/');
  }
  private skipComment(): void {
    while (this.peek() !== '' && !isNL(this.peek())) this.advance();
  }
  private skipSpaceAndComments(): void {
    for (;;) {
      const c = this.peek();
      if (isSpace(c)) this.advance();
      else if (this.atComment()) this.skipComment();
      else return;
    }
  }

  // ---------------------------------------------------------------- maps
  /** Parses `key value` pairs into `target` until `}` (map) or EOF (top). */
  private parseMapBody(target: ConfMap, ctx: 'top' | 'map'): void {
    for (;;) {
      // Separators between entries: new lines, ',' and ';' (and stray '}' ',' at top level).
      for (;;) {
        this.skipSpaceAndComments();
        const c = this.peek();
        if (c === ';' || (c === ',' && ctx === 'top')) {
          this.advance();
          continue;
        }
        break;
      }
      const c = this.peek();
      if (c === '') {
        if (ctx === 'map') this.fail("unexpected EOF: missing '}' to close a map");
        return;
      }
      if (c === '}') {
        if (ctx === 'top') this.fail("unexpected '}' without a matching '{'");
        this.advance();
        return;
      }
      if (c === ',') this.fail("unexpected ',': expected a key");
      if (c === '=' || c === ':') this.fail(`unexpected key separator ${describe(c)}: expected a key`);
      if (c === ']') this.fail("unexpected ']': expected a key");
      this.parseEntry(target);
      this.endOfValue(ctx);
    }
  }

  /** After a value: spaces, then a terminator (new line, ',', ';', '}', comment, EOF). */
  private endOfValue(ctx: Context): void {
    this.skipWS();
    const c = this.peek();
    if (c === '' || isNL(c) || c === ',' || c === ';' || this.atComment()) {
      if (c === ',' || c === ';') this.advance();
      return;
    }
    if (c === '}' && ctx !== 'array') return;
    if (c === ']' && ctx === 'array') return;
    const where = ctx === 'top' ? 'a top-level value' : ctx === 'map' ? 'a map value' : 'an array value';
    this.fail(`expected ${where} to end with a new line, ',', ';' or comment, but got ${describe(c)}`);
  }

  private parseKey(): { key: string; pos: ConfPos; bare: boolean } {
    const pos = this.here();
    const q = this.peek();
    if (q === '"' || q === "'") {
      this.advance();
      let key = '';
      while (this.peek() !== q) {
        const ch = this.peek();
        if (ch === '' || isNL(ch)) this.fail(`unterminated quoted key`, pos);
        key += this.advance();
      }
      this.advance();
      return { key, pos, bare: false };
    }
    let key = '';
    for (;;) {
      const ch = this.peek();
      if (ch === '' || isSpace(ch) || ch === '=' || ch === ':' || ch === '{' || ch === '[' || ch === '}' || ch === ',' || ch === ';' || ch === '#') break;
      key += this.advance();
    }
    if (key === '') this.fail(`expected a key but got ${describe(this.peek())}`);
    return { key, pos, bare: true };
  }

  private parseEntry(target: ConfMap): void {
    const { key, pos, bare } = this.parseKey();
    if (bare && key.toLowerCase() === 'include' && isWS(this.peek())) {
      this.skipWS();
      this.parseInclude(target, pos);
      return;
    }
    // Between key and separator any white space, including new lines.
    while (isSpace(this.peek())) this.advance();
    const sep = this.peek();
    if (sep === '=' || sep === ':') {
      this.advance();
    } else if (sep === '' || sep === '}' || sep === ',' || sep === ';') {
      this.fail(`missing value for key "${key}"`, pos);
    }
    const value = this.parseValue(`key "${key}"`);
    target[key] = value;
    this.doc.setKeyPos(target, key, pos);
  }

  private parseInclude(target: ConfMap, pos: ConfPos): void {
    const q = this.peek();
    let name = '';
    if (q === '"' || q === "'") {
      this.advance();
      while (this.peek() !== q) {
        const ch = this.peek();
        if (ch === '' || isNL(ch)) this.fail('unterminated include file name', pos);
        name += this.advance();
      }
      this.advance();
    } else {
      for (;;) {
        const ch = this.peek();
        if (ch === '' || isSpace(ch) || ch === ';' || ch === '}' || ch === ',') break;
        name += this.advance();
      }
    }
    if (name === '') this.fail('expected a file name after include', pos);
    const base = this.opts.file === '<input>' ? process.cwd() : path.dirname(this.opts.file);
    const file = path.isAbsolute(name) ? name : path.join(base, name);
    const chain = this.opts.includeChain ?? [];
    const resolved = path.resolve(file);
    if (chain.includes(resolved) || chain.length >= MAX_INCLUDE_DEPTH) {
      this.fail(`include cycle detected with "${name}"`, pos);
    }
    let sub: ConfDocument;
    try {
      sub = parseConfFile(file, { env: this.opts.env, includeChain: [...chain, resolved] });
    } catch (e) {
      const msg = errorText(e);
      this.fail(`error parsing include file "${name}": ${msg}`, pos);
    }
    for (const [k, v] of Object.entries(sub.root)) target[k] = v;
    this.doc.adoptPositions(sub, sub.root, target);
  }

  // ---------------------------------------------------------------- values
  private parseValue(what: string): ConfValue {
    this.skipWS();
    const pos = this.here();
    const c = this.peek();
    if (c === '') this.fail(`missing value for ${what}`);
    if (isNL(c)) this.fail(`expected a value for ${what} but found a new line`);
    if (c === '{') {
      this.advance();
      const m: ConfMap = {};
      this.stack.push(m);
      this.parseMapBody(m, 'map');
      this.stack.pop();
      return m;
    }
    if (c === '[') {
      this.advance();
      return this.parseArray(pos);
    }
    if (c === '"') return this.parseDQString();
    if (c === "'") return this.parseSQString();
    if (c === '(') return this.parseBlock();
    if (c === '-' || isDigit(c)) return this.parseNumberLike();
    if (c === '.') this.fail('floats must start with a digit');
    if (c === ',' || c === ';' || c === '}' || c === ']') this.fail(`missing value for ${what}`);
    // Unquoted string / boolean / variable.
    let s = '';
    for (;;) {
      const ch = this.peek();
      if (ch === '' || isSpace(ch) || ch === ',' || ch === ';' || ch === ']' || ch === '}') break;
      s += this.advance();
    }
    const b = BOOL_WORDS[s.toLowerCase()];
    if (b !== undefined) return b;
    if (s.startsWith('$') && s.length > 1 && !s.startsWith('$2a$') && !s.startsWith('$2b$') && !s.startsWith('$2y$')) {
      return this.lookupVariable(s.slice(1), pos);
    }
    return s;
  }

  private parseArray(start: ConfPos): ConfValue[] {
    const arr: ConfValue[] = [];
    for (;;) {
      this.skipSpaceAndComments();
      const c = this.peek();
      if (c === '') this.fail("unexpected EOF: missing ']' to close an array", start);
      if (c === ']') {
        this.advance();
        return arr;
      }
      if (c === ',') this.fail("unexpected ',' in array: expected a value");
      const pos = this.here();
      const v = this.parseValue('array element');
      this.doc.setElemPos(arr, arr.length, pos);
      arr.push(v);
      this.endOfValue('array');
    }
  }

  private parseDQString(): string {
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

  private parseSQString(): string {
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
  private parseBlock(): string {
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

  private parseNumberLike(): ConfValue {
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

  private lookupVariable(name: string, pos: ConfPos): ConfValue {
    for (let k = this.stack.length - 1; k >= 0; k--) {
      const m = this.stack[k] as ConfMap;
      if (Object.prototype.hasOwnProperty.call(m, name)) {
        this.doc.markUsedVar(m, name);
        return m[name] as ConfValue;
      }
    }
    const env = this.opts.env ?? process.env;
    const raw = env[name];
    if (raw !== undefined) {
      // Environment values are parsed like a configuration value (numbers, booleans…).
      try {
        const d = parseConf(`pk=${raw}`, { file: `<env ${name}>`, env: {} });
        const v = d.root['pk'];
        if (v !== undefined) return v;
      } catch {
        // Not a valid value: use the raw string.
      }
      return raw;
    }
    this.fail(`variable reference for "${name}" can not be found`, pos);
  }
}

/** Parses configuration text. Throws {@link ConfParseError}. */
export function parseConf(text: string, opts: ParseOptions = {}): ConfDocument {
  const file = opts.file ?? '<input>';
  const doc = new ConfDocument(file);
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  new ConfParser(src, doc, { ...opts, file }).parse();
  return doc;
}

/** Reads and parses a configuration file. Throws {@link ConfParseError}. */
export function parseConfFile(file: string, opts: Omit<ParseOptions, 'file'> = {}): ConfDocument {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file or directory' : errorText(e);
    throw new ConfParseError(`error opening config file: open ${file}: ${reason}`);
  }
  return parseConf(text, { ...opts, file, includeChain: opts.includeChain ?? [path.resolve(file)] });
}

/** Deep plain copy of a configuration value (drops position metadata). */
export function confToPlain(v: ConfValue): ConfValue {
  if (Array.isArray(v)) return v.map(confToPlain);
  if (isConfMap(v)) {
    const o: ConfMap = {};
    for (const [k, x] of Object.entries(v)) o[k] = confToPlain(x);
    return o;
  }
  return v;
}
