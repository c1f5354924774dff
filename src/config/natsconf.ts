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
 * Layers: natsconf-document.ts (the value tree and its positions), natsconf-scanner.ts (the
 * character level and scalar tokens), this file (the grammar: maps, arrays, includes,
 * variables).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorText } from '../errors';
import { ConfDocument, ConfParseError, type ConfMap, type ConfPos, type ConfValue } from './natsconf-document';
import { ConfScanner, describe, isDigit, isNL, isSpace, isWS } from './natsconf-scanner';

export { ConfDocument, ConfParseError, confToPlain, formatPos, isConfMap } from './natsconf-document';
export type { ConfMap, ConfPos, ConfValue } from './natsconf-document';

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

type Context = 'top' | 'map' | 'array';

class ConfParser extends ConfScanner {
  private readonly stack: ConfMap[] = [];

  constructor(
    src: string,
    private readonly doc: ConfDocument,
    private readonly opts: Required<Pick<ParseOptions, 'file'>> & ParseOptions,
  ) {
    super(src, opts.file);
  }

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
