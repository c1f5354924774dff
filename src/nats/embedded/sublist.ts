/**
 * Subscription index: literal subjects in one Map, wildcard subjects in a token trie with
 * `*` / `>` branches, and a bounded match cache.
 *
 * Literal subscriptions are nearly all inboxes with one subscriber each (a STAN server holds
 * one ack inbox per subscription: 60,000 of them after a restart with 60,000 durables), so
 * such a subject is one Map entry holding the subscription itself, with no trie node, Set or
 * token array: inserting 60,000 recovered ack inboxes into the trie cost 129 ms and three
 * long-lived objects each (docs/performance.md, "Restart").
 *
 * Every published message does one `match()`; in steady state that is one Map lookup in
 * the cache. The cache is invalidated precisely: inserting/removing a literal subscription
 * only drops the cache entry for that subject, a wildcard one drops the cached subjects it
 * matches. Result arrays are never mutated after they are handed out, so a caller may keep
 * iterating a result while handlers unsubscribe (they must check their entry's own state).
 */

import { DOT, GT, STAR } from '../../subject/syntax';

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

/** The subscriptions of one literal subject once it has more than one plain subscriber or a queue subscriber. */
class LiteralSubs<T> {
  psubs: Set<T> | null = null;
  qsubs: Map<string, Set<T>> | null = null;
}

const CACHE_MAX = 1024;
const CACHE_SWEEP = 256;

const EMPTY: SublistResult<never> = Object.freeze({ psubs: Object.freeze([]), qsubs: Object.freeze([]) });

export class Sublist<T extends SublistEntry> {
  private readonly root = new Node<T>();
  /** Literal subject → its only plain subscriber, or all of its subscribers. */
  private readonly literals = new Map<string, T | LiteralSubs<T>>();
  /** Entries in the trie (wildcard subjects, and subjects with empty tokens, which never match). */
  private inTree = 0;
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
    if (isPlainLiteral(entry.subject)) {
      this.insertLiteral(entry.subject, entry);
      return;
    }
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
    this.inTree++;
    this.inserts++;
    this.invalidate(entry.subject, wild, tokens);
  }

  /**
   * Indexes `entry` under `subject` instead of its own subject: one entry (a plain
   * subscription, `queue` undefined) may stand for many literal subjects, so 60,000 ack inboxes
   * need no object each (in-process subject groups, inprocess.ts). Throws for a subject with a
   * wildcard or an empty token.
   */
  insertSubject(subject: string, entry: T): void {
    if (entry.queue !== undefined || !isPlainLiteral(subject)) throw new Error(`nats: "${subject}" is not a literal subject`);
    this.insertLiteral(subject, entry);
  }

  /** Undoes insertSubject; returns false if `entry` was not indexed under `subject`. */
  removeSubject(subject: string, entry: T): boolean {
    return isPlainLiteral(subject) && this.removeLiteral(subject, entry);
  }

  private insertLiteral(subject: string, entry: T): void {
    const cur = this.literals.get(subject);
    if (cur === undefined && entry.queue === undefined) {
      this.literals.set(subject, entry);
    } else {
      let subs: LiteralSubs<T>;
      if (cur instanceof LiteralSubs) subs = cur;
      else {
        subs = new LiteralSubs<T>();
        if (cur !== undefined) subs.psubs = new Set([cur]);
        this.literals.set(subject, subs);
      }
      if (entry.queue === undefined) (subs.psubs ??= new Set()).add(entry);
      else {
        const q = (subs.qsubs ??= new Map());
        const set = q.get(entry.queue);
        if (set === undefined) q.set(entry.queue, new Set([entry]));
        else set.add(entry);
      }
    }
    this.count++;
    this.inserts++;
    // Empty while a restart subscribes its ack inboxes: no lookup per inbox then.
    if (this.cache.size > 0) this.cache.delete(subject);
  }

  /** Removes an entry; returns false if it was not in the index. */
  remove(entry: T): boolean {
    if (isPlainLiteral(entry.subject)) return this.removeLiteral(entry.subject, entry);
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
    this.inTree--;
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

  private removeLiteral(subject: string, entry: T): boolean {
    const cur = this.literals.get(subject);
    if (cur === undefined) return false;
    if (cur instanceof LiteralSubs) {
      let removed = false;
      if (entry.queue === undefined) removed = cur.psubs?.delete(entry) ?? false;
      else {
        const set = cur.qsubs?.get(entry.queue);
        if (set !== undefined) {
          removed = set.delete(entry);
          if (set.size === 0) cur.qsubs!.delete(entry.queue);
        }
      }
      if (!removed) return false;
      if ((cur.psubs === null || cur.psubs.size === 0) && (cur.qsubs === null || cur.qsubs.size === 0)) this.literals.delete(subject);
    } else {
      if (cur !== entry) return false;
      this.literals.delete(subject);
    }
    this.count--;
    this.removes++;
    this.cache.delete(subject);
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
    let result: SublistResult<T> = EMPTY;
    // An empty token can never match anything (spec §2.6: `foo..bar` goes nowhere).
    if (!hasEmptyToken(subject)) {
      const psubs: T[] = [];
      const groups = new Map<string, T[]>();
      // Wildcards first, then the literal subject: the order the trie alone gave.
      if (this.inTree > 0) this.collect(this.root, subject.split('.'), 0, psubs, groups);
      const lit = this.literals.get(subject);
      if (lit instanceof LiteralSubs) addSubs(lit, psubs, groups);
      else if (lit !== undefined) psubs.push(lit);
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

function addSubs<T>(node: Node<T> | LiteralSubs<T>, psubs: T[], groups: Map<string, T[]>): void {
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

/** `subject` has an empty token (`a..b`, `.a`, `a.`, or is empty). */
function hasEmptyToken(subject: string): boolean {
  const n = subject.length;
  return n === 0 || subject.charCodeAt(0) === DOT || subject.charCodeAt(n - 1) === DOT || subject.includes('..');
}

/**
 * A subject the literal Map holds: no `*` or `>` token and no empty token. Everything else
 * goes to the trie, which treats it as before (a subject with an empty token never matches).
 */
function isPlainLiteral(subject: string): boolean {
  // One pass (empty tokens and wildcard tokens together): it runs for every ack inbox a
  // restart subscribes, 60,000 with the scale scenario.
  const n = subject.length;
  let tokStart = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && subject.charCodeAt(i) !== DOT) continue;
    const len = i - tokStart;
    if (len === 0) return false;
    if (len === 1) {
      const c = subject.charCodeAt(tokStart);
      if (c === STAR || c === GT) return false;
    }
    tokStart = i + 1;
  }
  return true;
}
