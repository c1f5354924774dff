/**
 * Subscription index: a token trie with `*` / `>` branches and a bounded match cache.
 *
 * Every published message does one `match()`; in steady state that is one Map lookup in
 * the cache. The cache is invalidated precisely: inserting/removing a literal subscription
 * only drops the cache entry for that subject, a wildcard one drops the cached subjects it
 * matches. Result arrays are never mutated after they are handed out, so a caller may keep
 * iterating a result while handlers unsubscribe (they must check their entry's own state).
 */

export interface SublistEntry {
  readonly subject: string;
  /** Queue group, undefined for a plain subscription. */
  readonly queue: string | undefined;
}

export interface SublistResult<T> {
  /** Plain subscriptions: each gets the message. */
  readonly psubs: readonly T[];
  /** One array per queue group: one member of each gets the message. */
  readonly qsubs: readonly (readonly T[])[];
}

export interface SublistStats {
  numSubscriptions: number;
  numCache: number;
  numInserts: number;
  numRemoves: number;
  numMatches: number;
  cacheHitRate: number;
  maxFanout: number;
  avgFanout: number;
}

class Node<T> {
  lits: Map<string, Node<T>> | null = null;
  pwc: Node<T> | null = null;
  fwc: Node<T> | null = null;
  psubs: Set<T> | null = null;
  qsubs: Map<string, Set<T>> | null = null;

  isEmpty(): boolean {
    return (
      (this.lits === null || this.lits.size === 0) &&
      this.pwc === null &&
      this.fwc === null &&
      (this.psubs === null || this.psubs.size === 0) &&
      (this.qsubs === null || this.qsubs.size === 0)
    );
  }
}

const CACHE_MAX = 1024;
const CACHE_SWEEP = 256;

const EMPTY: SublistResult<never> = Object.freeze({ psubs: Object.freeze([]), qsubs: Object.freeze([]) });

export class Sublist<T extends SublistEntry> {
  private readonly root = new Node<T>();
  private readonly cache = new Map<string, SublistResult<T>>();
  private count = 0;
  private inserts = 0;
  private removes = 0;
  private matches = 0;
  private cacheHits = 0;
  private fanoutSum = 0;
  private fanoutMax = 0;
  private fanoutSamples = 0;

  get size(): number {
    return this.count;
  }

  insert(entry: T): void {
    const tokens = entry.subject.split('.');
    let node = this.root;
    let wild = false;
    for (const t of tokens) {
      let next: Node<T> | null;
      if (t === '*') {
        wild = true;
        next = node.pwc ?? (node.pwc = new Node<T>());
      } else if (t === '>') {
        wild = true;
        next = node.fwc ?? (node.fwc = new Node<T>());
      } else {
        if (node.lits === null) node.lits = new Map();
        next = node.lits.get(t) ?? null;
        if (next === null) {
          next = new Node<T>();
          node.lits.set(t, next);
        }
      }
      node = next;
    }
    if (entry.queue === undefined) {
      (node.psubs ??= new Set()).add(entry);
    } else {
      const q = (node.qsubs ??= new Map());
      let set = q.get(entry.queue);
      if (set === undefined) {
        set = new Set();
        q.set(entry.queue, set);
      }
      set.add(entry);
    }
    this.count++;
    this.inserts++;
    this.invalidate(entry.subject, wild, tokens);
  }

  /** Removes an entry; returns false if it was not in the index. */
  remove(entry: T): boolean {
    const tokens = entry.subject.split('.');
    const path: Node<T>[] = [];
    let node: Node<T> | null = this.root;
    let wild = false;
    for (const t of tokens) {
      path.push(node);
      if (t === '*') {
        wild = true;
        node = node.pwc;
      } else if (t === '>') {
        wild = true;
        node = node.fwc;
      } else {
        node = node.lits?.get(t) ?? null;
      }
      if (node === null) return false;
    }
    let removed = false;
    if (entry.queue === undefined) {
      removed = node.psubs?.delete(entry) ?? false;
    } else {
      const set = node.qsubs?.get(entry.queue);
      if (set !== undefined) {
        removed = set.delete(entry);
        if (set.size === 0) node.qsubs!.delete(entry.queue);
      }
    }
    if (!removed) return false;
    this.count--;
    this.removes++;
    // Prune empty branches so churn of unique subjects (inboxes) does not leak nodes.
    for (let i = tokens.length - 1; i >= 0 && node.isEmpty(); i--) {
      const parent = path[i];
      const t = tokens[i];
      if (t === '*') parent.pwc = null;
      else if (t === '>') parent.fwc = null;
      else parent.lits!.delete(t);
      node = parent;
    }
    this.invalidate(entry.subject, wild, tokens);
    return true;
  }

  /** Subscriptions matching a published subject. */
  match(subject: string): SublistResult<T> {
    this.matches++;
    const cached = this.cache.get(subject);
    if (cached !== undefined) {
      this.cacheHits++;
      return cached;
    }
    const tokens = subject.split('.');
    let result: SublistResult<T> = EMPTY;
    // An empty token can never match anything (spec §2.6: `foo..bar` goes nowhere).
    if (!tokens.includes('')) {
      const psubs: T[] = [];
      const groups = new Map<string, T[]>();
      this.collect(this.root, tokens, 0, psubs, groups);
      if (psubs.length > 0 || groups.size > 0) {
        result = { psubs, qsubs: groups.size > 0 ? [...groups.values()] : [] };
      }
    }
    const fanout = result.psubs.length + result.qsubs.length;
    this.fanoutSum += fanout;
    this.fanoutSamples++;
    if (fanout > this.fanoutMax) this.fanoutMax = fanout;
    if (this.cache.size >= CACHE_MAX) this.sweepCache();
    this.cache.set(subject, result);
    return result;
  }

  /** True if anything at all would receive a message on `subject`. */
  hasInterest(subject: string): boolean {
    const r = this.match(subject);
    return r.psubs.length > 0 || r.qsubs.length > 0;
  }

  stats(): SublistStats {
    return {
      numSubscriptions: this.count,
      numCache: this.cache.size,
      numInserts: this.inserts,
      numRemoves: this.removes,
      numMatches: this.matches,
      cacheHitRate: this.matches === 0 ? 0 : this.cacheHits / this.matches,
      maxFanout: this.fanoutMax,
      avgFanout: this.fanoutSamples === 0 ? 0 : this.fanoutSum / this.fanoutSamples,
    };
  }

  /** Number of cached match results (exposed for tests of cache invalidation). */
  get cacheSize(): number {
    return this.cache.size;
  }

  private collect(node: Node<T>, tokens: string[], i: number, psubs: T[], groups: Map<string, T[]>): void {
    if (i === tokens.length) {
      addSubs(node, psubs, groups);
      return;
    }
    // '>' needs at least one more token, which `i < tokens.length` guarantees here.
    if (node.fwc !== null) addSubs(node.fwc, psubs, groups);
    if (node.pwc !== null) this.collect(node.pwc, tokens, i + 1, psubs, groups);
    const lit = node.lits?.get(tokens[i]);
    if (lit !== undefined) this.collect(lit, tokens, i + 1, psubs, groups);
  }

  private invalidate(subject: string, wild: boolean, tokens: string[]): void {
    if (this.cache.size === 0) return;
    if (!wild) {
      this.cache.delete(subject);
      return;
    }
    for (const key of this.cache.keys()) {
      if (tokensMatch(tokens, key)) this.cache.delete(key);
    }
  }

  private sweepCache(): void {
    // Map iteration is insertion order, so this drops the oldest entries.
    let n = CACHE_SWEEP;
    for (const key of this.cache.keys()) {
      if (n-- <= 0) break;
      this.cache.delete(key);
    }
  }
}

function addSubs<T>(node: Node<T>, psubs: T[], groups: Map<string, T[]>): void {
  if (node.psubs !== null) for (const s of node.psubs) psubs.push(s);
  if (node.qsubs !== null) {
    for (const [name, set] of node.qsubs) {
      let arr = groups.get(name);
      if (arr === undefined) {
        arr = [];
        groups.set(name, arr);
      }
      for (const s of set) arr.push(s);
    }
  }
}

/** Does a (wildcard) pattern, given as tokens, match the subject `subject`? */
function tokensMatch(pattern: string[], subject: string): boolean {
  let start = 0;
  const n = subject.length;
  for (let i = 0; i < pattern.length; i++) {
    if (start > n) return false; // subject ran out of tokens
    const p = pattern[i];
    if (p === '>') return true;
    let end = subject.indexOf('.', start);
    if (end < 0) end = n;
    if (p !== '*' && (p.length !== end - start || !subject.startsWith(p, start))) return false;
    start = end + 1;
  }
  return start > n;
}
