/**
 * Parameter parsing for the admin API: strict (a typo is a 400 naming the parameter, never a
 * silent default), unlike the reference's lenient /streaming paging.
 */
import { badParameter } from './errors';
import { errorText } from '../../errors';

/** A request body: a JSON object (or nothing, read as `{}`). */
export type JsonObject = { [k: string]: unknown };

export interface IntRule {
  min: number;
  max?: number;
}

function describe(rule: IntRule): string {
  return rule.max === undefined ? `an integer >= ${rule.min}` : `an integer from ${rule.min} to ${rule.max}`;
}

/** A decimal integer in the rule's range. */
export function parseIntText(name: string, text: string, rule: IntRule): number {
  if (!/^\d+$/.test(text)) throw badParameter(name, `${JSON.stringify(text)} is not ${describe(rule)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < rule.min || (rule.max !== undefined && n > rule.max)) {
    throw badParameter(name, `${text} is out of range: give ${describe(rule)}`);
  }
  return n;
}

/** An optional integer query parameter; `undefined` when absent. */
export function queryInt(q: URLSearchParams, name: string, rule: IntRule): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  return parseIntText(name, v, rule);
}

/** An optional query parameter restricted to a set of values. */
export function queryEnum<T extends string>(q: URLSearchParams, name: string, values: readonly T[]): T | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  const hit = values.find((x) => x === v);
  if (hit === undefined) throw badParameter(name, `${JSON.stringify(v)} is not one of ${values.join(', ')}`);
  return hit;
}

/** Query parameters that the endpoint does not know are refused (they are usually typos). */
export function onlyKnownQuery(q: URLSearchParams, known: readonly string[]): void {
  for (const k of q.keys()) {
    if (!known.includes(k)) {
      throw badParameter(k, known.length === 0 ? 'this endpoint takes no query parameters' : `unknown parameter; known: ${known.join(', ')}`);
    }
  }
}

/** Body keys the endpoint does not know are refused for the same reason. */
export function onlyKnownKeys(body: JsonObject, known: readonly string[]): void {
  for (const k of Object.keys(body)) {
    if (!known.includes(k)) throw badParameter(k, `unknown body field; known: ${known.join(', ') || '(none)'}`);
  }
}

export function bodyString(body: JsonObject, name: string, required: true): string;
export function bodyString(body: JsonObject, name: string, required: false): string | undefined;
export function bodyString(body: JsonObject, name: string, required: boolean): string | undefined {
  const v = body[name];
  if (v === undefined) {
    if (required) throw badParameter(name, 'required (a non-empty string)');
    return undefined;
  }
  if (typeof v !== 'string' || v === '') throw badParameter(name, 'must be a non-empty string');
  return v;
}

/** A positive sequence number given as a JSON number. */
export function bodySeq(body: JsonObject, name: string): number | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw badParameter(name, 'must be an integer >= 1');
  return v;
}

/** A time given as an RFC 3339 string (e.g. "2026-01-02T15:04:05Z"). */
export function bodyTime(body: JsonObject, name: string): Date | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  const ok = typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v);
  const d = ok ? new Date(v) : undefined;
  if (d === undefined || Number.isNaN(d.getTime())) {
    throw badParameter(name, 'must be an RFC 3339 time such as "2026-01-02T15:04:05Z"');
  }
  return d;
}

/** A path segment, percent-decoded; channel names and client IDs are never empty. */
export function pathSegment(name: string, raw: string): string {
  let v: string;
  try {
    v = decodeURIComponent(raw);
  } catch {
    throw badParameter(name, 'bad percent-encoding in the path');
  }
  if (v === '') throw badParameter(name, 'must not be empty');
  return v;
}

/** Parses a request body as a JSON object (empty body = `{}`). */
export function parseBody(text: string): JsonObject {
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw badParameter('body', `not valid JSON (${errorText(err)})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badParameter('body', 'must be a JSON object');
  return v as JsonObject;
}
