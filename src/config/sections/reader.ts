/**
 * Typed, positioned reads from one map of a parsed configuration file. Type errors use the
 * shared vocabulary of values.ts and carry `file:line:col`.
 */
import { ConfigError } from '../errors';
import { ConfDocument, ConfMap, ConfPos, ConfValue, formatPos, isConfMap } from '../natsconf';
import { parseGoDuration } from '../units';
import { KIND_TEXT, type OptionValue, type ValueKind } from '../values';

/** How a config key is read: a value kind, or NATS's "seconds or duration string". */
export type ReadKind = ValueKind | 'durationOrSeconds';

export function describeValue(v: ConfValue): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer ${v}` : `float ${v}`;
  if (typeof v === 'boolean') return `boolean ${v}`;
  if (Array.isArray(v)) return 'array';
  return 'map';
}

/** `file:line:col: ` for a position, or nothing. */
export function positionPrefix(p: ConfPos | undefined): string {
  return p ? `${formatPos(p)}: ` : '';
}

export class ConfReader {
  constructor(
    readonly doc: ConfDocument,
    readonly map: ConfMap,
    private readonly ctxPos: ConfPos | undefined,
  ) {}

  /** Position of `key`, or of the enclosing block when the key has none. */
  pos(key: string): ConfPos | undefined {
    return this.doc.pos(this.map, key) ?? this.ctxPos;
  }

  /** Position of element `i` of the array under `key`. */
  elemPos(key: string, i: number): ConfPos | undefined {
    const v = this.get(key);
    return (Array.isArray(v) ? this.doc.pos(v, i) : undefined) ?? this.pos(key);
  }

  where(key: string): string {
    return positionPrefix(this.pos(key));
  }

  typeError(key: string, kind: ValueKind | 'map' | 'array', v: ConfValue): ConfigError {
    return new ConfigError(
      `${this.where(key)}parameter ${JSON.stringify(key)} value is expected to be ${KIND_TEXT[kind]}, got ${describeValue(v)}`,
    );
  }

  error(key: string, msg: string): ConfigError {
    return new ConfigError(`${this.where(key)}${msg}`);
  }

  get(key: string): ConfValue {
    return this.map[key] as ConfValue;
  }

  str(key: string): string {
    const v = this.get(key);
    if (typeof v !== 'string') throw this.typeError(key, 'string', v);
    return v;
  }

  bool(key: string): boolean {
    const v = this.get(key);
    if (typeof v !== 'boolean') throw this.typeError(key, 'bool', v);
    return v;
  }

  /** An integer; `kind` only changes the wording of the error (`size` values arrive as integers). */
  int(key: string, kind: 'int' | 'size' = 'int'): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.typeError(key, kind, v);
    return v;
  }

  /** A Go duration string, in ms. */
  duration(key: string): number {
    const v = this.get(key);
    if (typeof v !== 'string') throw this.typeError(key, 'duration', v);
    try {
      return parseGoDuration(v);
    } catch (e) {
      throw this.error(key, `parameter ${JSON.stringify(key)}: ${(e as Error).message}`);
    }
  }

  /** A Go duration string, or a number of seconds (NATS style), in ms. */
  durationOrSeconds(key: string): number {
    const v = this.get(key);
    if (typeof v === 'number') return v * 1000;
    return this.duration(key);
  }

  /** An array of strings, or one comma-separated string. */
  strList(key: string): string[] {
    const v = this.get(key);
    if (typeof v === 'string') {
      return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    }
    if (!Array.isArray(v)) throw this.typeError(key, 'array', v);
    return v.map((e, i) => {
      if (typeof e !== 'string') {
        throw new ConfigError(
          `${positionPrefix(this.elemPos(key, i))}parameter ${JSON.stringify(key)} elements are expected to be strings, got ${describeValue(e)}`,
        );
      }
      return e;
    });
  }

  /** Reads `key` as `kind`. */
  read(key: string, kind: ReadKind): OptionValue {
    switch (kind) {
      case 'string': return this.str(key);
      case 'bool': return this.bool(key);
      case 'int': return this.int(key);
      case 'size': return this.int(key, 'size');
      case 'duration': return this.duration(key);
      case 'durationOrSeconds': return this.durationOrSeconds(key);
      case 'stringList': return this.strList(key);
    }
  }

  sub(key: string): ConfReader {
    const v = this.get(key);
    if (!isConfMap(v)) throw this.typeError(key, 'map', v);
    return new ConfReader(this.doc, v, this.pos(key));
  }

  /** A reader for a map found elsewhere (an array element), positioned at `at`. */
  child(map: ConfMap, at: ConfPos | undefined): ConfReader {
    return new ConfReader(this.doc, map, at);
  }

  keys(): string[] {
    return Object.keys(this.map);
  }

  isUsedVariable(key: string): boolean {
    return this.doc.isUsedVariable(this.map, key);
  }
}
