/**
 * Channel limits: validation, per-channel inheritance and the start-up limits table
 * (spec §5.2; reference `stores/limits.go`).
 *
 * Value conventions:
 *  - Globals: 0 = unlimited, > 0 = value, negative rejected.
 *  - Per-channel entries: `undefined` (or 0, the reference's programmatic convention) =
 *    inherit, < 0 (the config loader stores a config-file 0 as -1) = explicitly unlimited,
 *    > 0 = value.
 *  - Resolved (effective) limits: 0 = unlimited, like the globals.
 *
 * Specificity ordering. A pattern *covers* another subject/pattern when every channel the
 * latter matches is matched by the former (`>` covers `foo.>`, `foo.>` covers `foo.*` and
 * `foo.bar`, `*.bar` covers `foo.bar`, but `foo.*` does not cover `foo.>`). Entries that
 * cover the same subject are ordered token by token, at the first differing token
 * `>` < `*` < literal (widest first). This is exactly the order in which the reference's
 * sublist `Match` returns them, so:
 *  - an entry's parent (where its unset fields come from) is the last entry of that order
 *    among the entries covering it (the closest enclosing one), else the globals;
 *  - a channel's limits are those of the last (most specific) entry covering it, so a
 *    literal entry beats `foo.*`, which beats `foo.>`, which beats `>`; `*.bar` loses to
 *    `foo.>` for `foo.bar` (first token decides: `*` is wider than `foo`).
 */
import type { ChannelLimits, PartialChannelLimits, StoreLimits } from '../../config/options';
import { DEFAULT_CHANNEL_LIMITS, defaultStoreLimits } from '../../config/options';
import { formatFriendlyBytes, formatGoDuration, padLeft } from '../format';
import { invalidChannelNameMessage, isLiteralChannelName, isValidChannelName, tokenPatternCovers } from '../../subject';

type LimitKey = keyof ChannelLimits;

const LIMIT_KEYS: readonly LimitKey[] = ['maxSubscriptions', 'maxMsgs', 'maxBytes', 'maxAge', 'maxInactivity'];

function checkGlobal(label: string, value: number, show: (v: number) => string): void {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new Error(`invalid max ${label} limit (${String(value)})`);
  }
  if (value < 0) throw new Error(`max ${label} limit cannot be negative (${show(value)})`);
}

/**
 * Throws on invalid limits, with the reference's messages: negative globals
 * (`max messages limit cannot be negative (-5)`), invalid per-channel names
 * (`invalid channel name "foo..bar"`), and more literal per-channel entries than
 * max_channels (`too many channels defined (11). The max channels limit is set to 10`).
 *
 * Entries are checked in insertion order and the count error is raised as soon as the
 * limit is exceeded, like the reference (so N is always max_channels+1).
 */
export function validateStoreLimits(l: StoreLimits): void {
  const num = (v: number): string => String(v);
  checkGlobal('channels', l.maxChannels, num);
  checkGlobal('subscriptions', l.maxSubscriptions, num);
  checkGlobal('messages', l.maxMsgs, num);
  checkGlobal('bytes', l.maxBytes, num);
  checkGlobal('age', l.maxAge, formatGoDuration);
  checkGlobal('inactivity', l.maxInactivity, formatGoDuration);
  let literals = 0;
  for (const [name, entry] of Object.entries(l.perChannel ?? {})) {
    if (!isValidChannelName(name, true)) throw new Error(invalidChannelNameMessage(name));
    for (const k of LIMIT_KEYS) {
      const v = entry[k];
      if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v))) {
        throw new Error(`invalid ${k} limit (${String(v)}) for channel ${JSON.stringify(name)}`);
      }
    }
    if (isLiteralChannelName(name)) {
      literals++;
      if (l.maxChannels > 0 && literals > l.maxChannels) {
        throw new Error(`too many channels defined (${literals}). The max channels limit is set to ${l.maxChannels}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Inheritance

export interface LimitsEntry {
  name: string;
  tokens: string[];
  raw: PartialChannelLimits;
  /** Closest enclosing entry, null = globals. */
  parent: LimitsEntry | null;
  /** Number of entries covering this one (its nesting depth in the table). */
  depth: number;
  /** Effective limits, 0 = unlimited. */
  effective: ChannelLimits;
}

function tokenRank(t: string): number {
  return t === '>' ? 0 : t === '*' ? 1 : 2;
}

/**
 * Widest-first order among entries covering the same subject (see file comment). Literal
 * tokens that differ are ordered alphabetically: irrelevant for inheritance (two such
 * entries never cover the same subject) but it makes the table order deterministic.
 * A prefix sorts before its extensions so that a node precedes its subtree.
 */
function compareSpecificity(a: string[], b: string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ta = a[i];
    const tb = b[i];
    if (ta === tb) continue;
    const d = tokenRank(ta) - tokenRank(tb);
    if (d !== 0) return d;
    return ta < tb ? -1 : 1;
  }
  return a.length - b.length;
}

function globalsOf(l: StoreLimits): ChannelLimits {
  return {
    maxSubscriptions: l.maxSubscriptions,
    maxMsgs: l.maxMsgs,
    maxBytes: l.maxBytes,
    maxAge: l.maxAge,
    maxInactivity: l.maxInactivity,
  };
}

function inherit(raw: PartialChannelLimits, parent: ChannelLimits): ChannelLimits {
  const out = { ...parent };
  for (const k of LIMIT_KEYS) {
    const v = raw[k];
    if (v === undefined || v === 0) continue; // inherit
    out[k] = v < 0 ? 0 : v; // explicit unlimited, or value
  }
  return out;
}

/** Cached channel names per resolver; bounded because channel names may be unbounded (temp.*). */
const MAX_CACHED_CHANNELS = 65_536;

/**
 * Pre-computed inheritance for one StoreLimits object. Built once, then each channel
 * resolution is a Map hit, or a scan of the wildcard entries (few) on a miss.
 */
export class LimitsResolver {
  readonly globals: ChannelLimits;
  /** All entries in widest-first / tree order. */
  readonly entries: readonly LimitsEntry[];
  private readonly literals = new Map<string, LimitsEntry>();
  private readonly wildcards: LimitsEntry[] = [];
  private readonly cache = new Map<string, ChannelLimits>();

  constructor(limits: StoreLimits) {
    this.globals = globalsOf(limits);
    const list: LimitsEntry[] = Object.entries(limits.perChannel ?? {}).map(([name, raw]) => ({
      name,
      tokens: name.split('.'),
      raw,
      parent: null,
      depth: 0,
      effective: this.globals,
    }));
    list.sort((a, b) => compareSpecificity(a.tokens, b.tokens));
    // In this order every covering entry precedes the entries it covers, so parents are
    // final when their children are computed.
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      for (let j = 0; j < i; j++) {
        const c = list[j];
        if (!tokenPatternCovers(c.tokens, e.tokens)) continue;
        e.depth++;
        if (e.parent === null || compareSpecificity(e.parent.tokens, c.tokens) < 0) e.parent = c;
      }
      e.effective = inherit(e.raw, e.parent ? e.parent.effective : this.globals);
      if (isLiteralChannelName(e.name)) this.literals.set(e.name, e);
      else this.wildcards.push(e);
    }
    this.entries = list;
  }

  /** Effective limits of `channel` (0 = unlimited). The returned object is shared: do not mutate. */
  resolve(channel: string): ChannelLimits {
    const hit = this.cache.get(channel);
    if (hit) return hit;
    const best = this.entryFor(channel);
    const res = Object.freeze({ ...(best ? best.effective : this.globals) });
    if (this.cache.size >= MAX_CACHED_CHANNELS) this.cache.clear();
    this.cache.set(channel, res);
    return res;
  }

  /** The most specific entry covering `channel` (its parents follow `parent`), if any. */
  entryFor(channel: string): LimitsEntry | undefined {
    let best: LimitsEntry | undefined = this.literals.get(channel);
    if (best) return best;
    const tokens = channel.split('.');
    for (const w of this.wildcards) {
      if (tokenPatternCovers(w.tokens, tokens) && (!best || compareSpecificity(best.tokens, w.tokens) < 0)) best = w;
    }
    return best;
  }
}

/**
 * One resolver per StoreLimits object. The limits are treated as immutable once resolved
 * (they are after start-up); a caller that builds new limits gets a new resolver.
 */
const resolvers = new WeakMap<StoreLimits, LimitsResolver>();

export function limitsResolver(limits: StoreLimits): LimitsResolver {
  let r = resolvers.get(limits);
  if (!r) {
    r = new LimitsResolver(limits);
    resolvers.set(limits, r);
  }
  return r;
}

/** Effective limits of `channel` after inheritance, 0 = unlimited. Cached per channel name. */
export function resolveChannelLimits(limits: StoreLimits, channel: string): ChannelLimits {
  return { ...limitsResolver(limits).resolve(channel) };
}

// ---------------------------------------------------------------------------------------
// Start-up table

const enum Kind {
  Count,
  Bytes,
  Duration,
}

/**
 * The reference's `getLimitStr`: per-channel lines only show values that differ from the
 * parent; global lines get ` *` when equal to the default.
 */
function limitStr(isGlobal: boolean, val: number, parentVal: number, kind: Kind): string {
  if (!isGlobal && val === parentVal) return '';
  const inherited = val === parentVal ? ' *' : '';
  let s: string;
  if (val === 0) s = 'unlimited';
  else if (kind === Kind.Bytes) s = formatFriendlyBytes(val);
  else if (kind === Kind.Duration) s = formatGoDuration(val);
  else s = String(val);
  return padLeft(s, 13) + inherited;
}

const ROWS: ReadonlyArray<{ key: LimitKey; global: string; channel: string; kind: Kind }> = [
  { key: 'maxSubscriptions', global: '  Subscriptions: ', channel: ' |-> Subscriptions ', kind: Kind.Count },
  { key: 'maxMsgs', global: '  Messages     : ', channel: ' |-> Messages      ', kind: Kind.Count },
  { key: 'maxBytes', global: '  Bytes        : ', channel: ' |-> Bytes         ', kind: Kind.Bytes },
  { key: 'maxAge', global: '  Age          : ', channel: ' |-> Age           ', kind: Kind.Duration },
  { key: 'maxInactivity', global: '  Inactivity   : ', channel: ' |-> Inactivity    ', kind: Kind.Duration },
];

/**
 * The lines the server logs at start-up (without the `[INF] STREAM: ` prefix), in the
 * reference layout.
 *
 * The `*` after a global limit follows the reference: it marks a value equal to the
 * server default, whatever its origin (so `-mm 1000000` still shows `*`). `explicit` is
 * accepted for API stability with the server module but does not change the output.
 *
 * Per-channel entries are listed in tree order (`>` subtree, then `*` subtree, then
 * literal tokens alphabetically, each node before its subtree), indented by the number of
 * entries enclosing them; only limits differing from the parent's are shown. The reference
 * lists literal tokens in random (Go map) order and omits entries that also have
 * sub-entries (e.g. `foo` when `foo.>` exists); we list every entry deterministically.
 */
export function formatLimitsTable(limits: StoreLimits, explicit?: ReadonlySet<string>): string[] {
  void explicit;
  const def = defaultStoreLimits();
  const title = '---------- Store Limits ----------';
  const txt: string[] = [title];
  txt.push(`Channels:        ${limitStr(true, limits.maxChannels, def.maxChannels, Kind.Count)}`);
  txt.push('--------- Channels Limits --------');
  for (const r of ROWS) {
    txt.push(r.global + limitStr(true, limits[r.key], DEFAULT_CHANNEL_LIMITS[r.key], r.kind));
  }
  let maxLen = title.length;
  const resolver = new LimitsResolver(limits);
  if (resolver.entries.length > 0) {
    const maxLevels = resolver.entries.reduce((m, e) => Math.max(m, e.tokens.length), 0);
    const lines: string[] = [];
    for (const e of resolver.entries) {
      const parent = e.parent ? e.parent.effective : resolver.globals;
      const left = ' '.repeat(e.depth);
      const right = ' '.repeat(Math.max(0, maxLevels - e.depth));
      lines.push(left + e.name);
      for (const r of ROWS) {
        const s = limitStr(false, e.effective[r.key], parent[r.key], r.kind);
        if (s !== '') lines.push(left + r.channel + right + s);
      }
    }
    for (const l of lines) maxLen = Math.max(maxLen, l.length);
    const mid = ' List of Channels ';
    const dl = Math.max(0, Math.floor((maxLen - mid.length) / 2));
    const dr = Math.max(0, maxLen - mid.length - dl);
    txt.push('-'.repeat(dl) + mid + '-'.repeat(dr));
    txt.push(...lines);
  }
  txt.push('-'.repeat(maxLen));
  return txt;
}
