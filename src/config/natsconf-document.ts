/**
 * The result of parsing a NATS configuration file: the plain value tree and, on the side,
 * the source position of every key and array element (for `file:line:col` errors).
 */
import { StanServerError } from '../errors';

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
