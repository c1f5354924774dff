/**
 * The validation vocabulary shared by the command-line flags (flags.ts, goflags.ts) and the
 * configuration file (sections/*): the kinds of option values, the value type they produce,
 * how each kind is described in error messages, and the rules for values that are
 * validated the same way whichever way they arrive (store type). Units (sizes, Go
 * durations) are in units.ts.
 */
import type { StoreType } from './options';

/** What an option holds; a flag or a config key declares one of these. */
export type ValueKind = 'string' | 'int' | 'bool' | 'size' | 'duration' | 'stringList';

/** A converted option value: `int`, `size` and `duration` (ms) are numbers. */
export type OptionValue = string | number | boolean | string[];

/** How each kind (and the config file's structural kinds) is named in type errors. */
export const KIND_TEXT: Readonly<Record<ValueKind | 'map' | 'array', string>> = {
  string: 'a string',
  int: 'an integer',
  bool: 'a boolean',
  size: 'a size (e.g. 1024, 10KB, 1MB)',
  duration: 'a duration string (e.g. "1h30m")',
  stringList: 'an array',
  map: 'a map',
  array: 'an array',
};

// The converters below guard the setters of the flag and key tables: a mismatch is a bug
// in a table, not bad input, so it is a TypeError.
export function asString(v: OptionValue): string {
  if (typeof v !== 'string') throw new TypeError(`expected a string option value, got ${typeof v}`);
  return v;
}
export function asNumber(v: OptionValue): number {
  if (typeof v !== 'number') throw new TypeError(`expected a numeric option value, got ${typeof v}`);
  return v;
}
export function asBool(v: OptionValue): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`expected a boolean option value, got ${typeof v}`);
  return v;
}
export function asList(v: OptionValue): string[] {
  if (!Array.isArray(v)) throw new TypeError(`expected a list option value, got ${typeof v}`);
  return v;
}

const STORE_TYPES: readonly StoreType[] = ['MEMORY', 'FILE', 'SQL'];

/** The store type named by `value` (case-insensitive), or undefined if there is none. */
export function toStoreType(value: string): StoreType | undefined {
  const up = value.toUpperCase();
  return STORE_TYPES.find((t) => t === up);
}
