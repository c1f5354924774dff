/**
 * Config sections are tables of keys, like the flag table: each key has its aliases, the
 * kind of value it takes (values.ts), the canonical names it records in
 * `ServerOptions.explicit`, and a setter. Keys that need more (sub-blocks, cross-checks)
 * have a handler instead. {@link applyKeys} walks a block in document order.
 */
import type { ServerOptions } from '../options';
import type { OptionValue } from '../values';
import type { ConfReader, ReadKind } from './reader';

/** What a section function may touch: the options being built and the warnings list. */
export interface ApplyContext {
  readonly opts: ServerOptions;
  readonly warnings: string[];
}

export interface ValueKey {
  readonly names: readonly string[];
  readonly type: ReadKind;
  readonly explicit: readonly string[];
  readonly apply: (o: ServerOptions, v: OptionValue) => void;
}

export interface HandledKey {
  readonly names: readonly string[];
  readonly handle: (ctx: ApplyContext, sec: ConfReader, key: string) => void;
}

export type KeySpec = ValueKey | HandledKey;

/** A plain key (`names` in lower case). */
export function key(
  names: string[],
  type: ReadKind,
  explicit: string | string[],
  apply: ValueKey['apply'],
): ValueKey {
  return { names, type, explicit: typeof explicit === 'string' ? [explicit] : explicit, apply };
}

/** A key with its own handler (`names` in lower case). */
export function handled(names: string[], handle: HandledKey['handle']): HandledKey {
  return { names, handle };
}

export function mark(ctx: ApplyContext, ...names: readonly string[]): void {
  for (const n of names) ctx.opts.explicit.add(n);
}

/** Warns about a key nobody uses, unless it only defines a variable used elsewhere. */
export function warnUnknown(ctx: ApplyContext, sec: ConfReader, key: string, where: string): void {
  if (sec.isUsedVariable(key)) return;
  ctx.warnings.push(`${sec.where(key)}unknown ${where}configuration key ${JSON.stringify(key)} (ignored)`);
}

const indexes = new WeakMap<readonly KeySpec[], Map<string, KeySpec>>();

function indexOf(table: readonly KeySpec[]): Map<string, KeySpec> {
  let idx = indexes.get(table);
  if (!idx) {
    idx = new Map();
    for (const spec of table) {
      for (const n of spec.names) {
        // A second entry would silently shadow the first: a table bug, caught on first use.
        if (idx.has(n)) throw new Error(`config key ${JSON.stringify(n)} defined twice`);
        idx.set(n, spec);
      }
    }
    indexes.set(table, idx);
  }
  return idx;
}

/**
 * Applies every key of `sec` found in `table` (case-insensitively), in document order;
 * the others go to `onOther`.
 */
export function applyKeys(
  ctx: ApplyContext,
  sec: ConfReader,
  table: readonly KeySpec[],
  onOther: (key: string) => void,
): void {
  const idx = indexOf(table);
  for (const k of sec.keys()) {
    const spec = idx.get(k.toLowerCase());
    if (spec === undefined) onOther(k);
    else if ('handle' in spec) spec.handle(ctx, sec, k);
    else {
      spec.apply(ctx.opts, sec.read(k, spec.type));
      mark(ctx, ...spec.explicit);
    }
  }
}
