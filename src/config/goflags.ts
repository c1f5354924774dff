/**
 * A parser compatible with Go's `flag` package syntax:
 *
 * - `-name`, `--name`, `-name=value`, `--name=value`, `-name value` (non-booleans only);
 * - booleans are set by their bare name and accept `=true/false/1/0/t/f/TRUE/False…`,
 *   they never consume the next argument;
 * - `--` ends the flags; the first non-flag argument (or a lone `-`) ends them too, and it
 *   and everything after it are positional arguments;
 * - error wording is Go's (`flag provided but not defined: -x`, `flag needs an argument: -p`,
 *   `invalid value "abc" for flag -p: parse error`, `invalid boolean value "x" for -SD: parse error`).
 */
import { parseGoDuration, parseSize } from './units';
import type { OptionValue, ValueKind } from './values';
import { StanServerError } from '../errors';

export type FlagType = ValueKind;

export type FlagValue = OptionValue;

export interface GoFlag {
  /** All names of the flag, without dashes (`cid`, `cluster_id`). */
  readonly names: readonly string[];
  readonly type: FlagType;
  /** What the value may be, added to the error when it does not parse (e.g. a range). */
  readonly hint?: string;
}

export interface FlagOccurrence<F extends GoFlag = GoFlag> {
  readonly flag: F;
  /** The name as typed (without dashes). */
  readonly name: string;
  /** The raw text value (`"true"` for a bare boolean). */
  readonly raw: string;
  readonly value: FlagValue;
}

export interface GoFlagParseResult<F extends GoFlag = GoFlag> {
  /** In command-line order; a repeated flag appears several times (last one wins). */
  readonly occurrences: FlagOccurrence<F>[];
  readonly positionals: string[];
}

export class FlagError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** Go's `strconv.ParseBool`. */
export function parseGoBool(s: string): boolean | undefined {
  switch (s) {
    case '1': case 't': case 'T': case 'true': case 'TRUE': case 'True':
      return true;
    case '0': case 'f': case 'F': case 'false': case 'FALSE': case 'False':
      return false;
    default:
      return undefined;
  }
}

/**
 * Go's `strconv.ParseInt(s, 0, 64)`: optional sign, `0x`/`0o`/`0b`/leading-`0` (octal)
 * prefixes, `_` separators only with a prefix. Returns an error reason or the value.
 */
export function parseGoInt(s: string): number | 'parse error' | 'value out of range' {
  let t = s;
  let neg = false;
  if (t.startsWith('+') || t.startsWith('-')) {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  let base = 10;
  let digits = t;
  const lower = t.toLowerCase();
  if (lower.startsWith('0x')) {
    base = 16;
    digits = t.slice(2);
  } else if (lower.startsWith('0o')) {
    base = 8;
    digits = t.slice(2);
  } else if (lower.startsWith('0b')) {
    base = 2;
    digits = t.slice(2);
  } else if (t.length > 1 && t[0] === '0') {
    base = 8;
    digits = t.slice(1);
  }
  if (base !== 10) {
    // Underscores allowed between digits when a base prefix is used.
    if (/__|_$/.test(digits)) return 'parse error';
    digits = digits.replace(/_/g, '');
  }
  const re = base === 16 ? /^[0-9a-fA-F]+$/ : base === 8 ? /^[0-7]+$/ : base === 2 ? /^[01]+$/ : /^[0-9]+$/;
  if (digits === '' || !re.test(digits)) return 'parse error';
  const big = BigInt((base === 16 ? '0x' : base === 8 ? '0o' : base === 2 ? '0b' : '') + digits);
  const v = neg ? -big : big;
  if (v > 9223372036854775807n || v < -9223372036854775808n) return 'value out of range';
  const n = Number(v);
  if (!Number.isSafeInteger(n)) return 'value out of range';
  return n;
}

function convert(type: FlagType, raw: string): FlagValue | undefined {
  switch (type) {
    case 'string':
      return raw;
    case 'bool':
      return parseGoBool(raw);
    case 'int': {
      const n = parseGoInt(raw);
      return typeof n === 'number' ? n : undefined;
    }
    case 'size':
      try {
        return parseSize(raw);
      } catch {
        return undefined;
      }
    case 'duration':
      try {
        return parseGoDuration(raw);
      } catch {
        return undefined;
      }
    case 'stringList':
      return raw
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '');
  }
}

function badValue(type: FlagType, raw: string, name: string, hint: string | undefined): FlagError {
  const expected = hint === undefined ? '' : ` (expected ${hint})`;
  if (type === 'bool') return new FlagError(`invalid boolean value ${JSON.stringify(raw)} for -${name}: parse error`);
  let reason = 'parse error';
  if (type === 'int') {
    const r = parseGoInt(raw);
    if (typeof r === 'string') reason = r;
  }
  return new FlagError(`invalid value ${JSON.stringify(raw)} for flag -${name}: ${reason}${expected}`);
}

/** Parses `args` (without the program name). Throws {@link FlagError}. */
export function parseGoFlags<F extends GoFlag>(args: readonly string[], flags: readonly F[]): GoFlagParseResult<F> {
  const byName = new Map<string, F>();
  for (const f of flags) {
    for (const n of f.names) {
      if (byName.has(n)) throw new Error(`flag redefined: ${n}`);
      byName.set(n, f);
    }
  }
  const occurrences: FlagOccurrence<F>[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg.length < 2 || arg[0] !== '-') break;
    let numMinuses = 1;
    if (arg[1] === '-') {
      numMinuses = 2;
      if (arg.length === 2) {
        i++; // "--" terminates the flags
        break;
      }
    }
    let name = arg.slice(numMinuses);
    if (name.length === 0 || name[0] === '-' || name[0] === '=') {
      throw new FlagError(`bad flag syntax: ${arg}`);
    }
    let hasValue = false;
    let raw = '';
    const eq = name.indexOf('=');
    if (eq > 0) {
      raw = name.slice(eq + 1);
      name = name.slice(0, eq);
      hasValue = true;
    }
    const flag = byName.get(name);
    if (!flag) throw new FlagError(`flag provided but not defined: -${name}`);
    if (flag.type === 'bool') {
      if (!hasValue) raw = 'true';
    } else if (!hasValue) {
      if (i + 1 < args.length) {
        i++;
        raw = args[i] as string;
      } else {
        throw new FlagError(`flag needs an argument: -${name}`);
      }
    }
    const value = convert(flag.type, raw);
    if (value === undefined) throw badValue(flag.type, raw, name, flag.hint);
    occurrences.push({ flag, name, raw, value });
  }
  return { occurrences, positionals: args.slice(i) };
}
