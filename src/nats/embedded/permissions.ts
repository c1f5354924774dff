/**
 * Publish/subscribe permissions of an authenticated user (spec nats-core §5.2).
 *
 * Rules, as nats-server 2.9 applies them:
 *  - No allow list = everything not denied is allowed; deny always wins.
 *  - Publish: the (literal) subject must match an allow entry and no deny entry.
 *  - Subscribe: allow entries must *cover* the subscription subject (`foo.>` covers `foo.*`,
 *    `foo.*` does not cover `foo.>`). Entries `"subject queue"` restrict queue groups: when
 *    queue entries cover the subject, a queue subscription must name one of their queues;
 *    a plain subscription needs a plain entry.
 *  - Subscribe deny entries are matched against the subscription subject taken literally
 *    (deny `foo.>` rejects `SUB foo.*`). A wildcard subscription that only overlaps a deny
 *    entry (`SUB >` with deny `foo.secret`) is accepted, and the denied subjects are
 *    filtered out of its deliveries, as nats-server does.
 *
 * Deliberate difference: nats-server 2.9 also accepts `SUB foo.>` under `allow: ["foo.*"]`
 * (it matches the `>` token literally against `*`); here that subscription is refused,
 * since it would receive `foo.a.b`, which the allow list does not grant.
 */
import type { NatsPermissions, ResponsePermission } from '../../config/options';
import {
  hasWildcards,
  isValidQueueName,
  isValidSubject,
  tokenPatternCovers,
  tokenPatternMatches,
  tokenPatternsOverlap,
} from '../../subject';

interface Entry {
  readonly subject: string;
  readonly tokens: readonly string[];
  /** Queue group (pattern) of a `"subject queue"` subscribe entry. */
  readonly queue: readonly string[] | undefined;
}

/** Publish cache bound: STAN publishes on one subject per channel, so this stays small. */
const PUB_CACHE_MAX = 1024;


/** Every subject matched by pattern `s` is also matched by pattern `p`. */
export const covers = tokenPatternCovers;

/** Some subject is matched by both patterns. */
export const overlaps = tokenPatternsOverlap;

function queueMatches(queue: readonly string[], e: Entry): boolean {
  return e.queue !== undefined && covers(e.queue, queue);
}

/**
 * Checks one permission entry; returns what is wrong with it, or undefined. Publish
 * entries are subjects; subscribe entries may be `"subject queue"`.
 */
export function invalidPermissionEntry(entry: string, direction: 'publish' | 'subscribe'): string | undefined {
  const parts = entry.trim().split(/[ \t]+/);
  if (parts.length > 2 || (parts.length === 2 && direction === 'publish')) {
    return direction === 'publish'
      ? `publish permission ${JSON.stringify(entry)} must be a single subject`
      : `subscribe permission ${JSON.stringify(entry)} must be "subject" or "subject queue"`;
  }
  if (!isValidSubject(parts[0])) return `subject ${JSON.stringify(parts[0])} is not a valid subject`;
  if (parts.length === 2 && !isValidQueueName(parts[1])) return `queue ${JSON.stringify(parts[1])} is not a valid queue name`;
  return undefined;
}

/** All problems of a permission set (empty when valid). */
export function validatePermissions(p: NatsPermissions): string[] {
  const out: string[] = [];
  for (const dir of ['publish', 'subscribe'] as const) {
    const sp = p[dir];
    if (sp === undefined) continue;
    for (const e of [...(sp.allow ?? []), ...sp.deny]) {
      const err = invalidPermissionEntry(e, dir);
      if (err !== undefined) out.push(err);
    }
  }
  return out;
}

function compile(list: readonly string[]): Entry[] {
  return list.map((raw) => {
    const [subject, queue] = raw.trim().split(/[ \t]+/);
    return { subject, tokens: subject.split('.'), queue: queue === undefined ? undefined : queue.split('.') };
  });
}

/** The compiled permissions of one user; shared by all of its connections. */
export class Permissions {
  /** null = no publish allow list. */
  private readonly pubAllow: Entry[] | null;
  private readonly pubDeny: Entry[];
  private readonly subAllow: Entry[] | null;
  private readonly subDeny: Entry[];
  private readonly pubCache = new Map<string, boolean>();
  private readonly deliverCache = new Map<string, boolean>();
  readonly responses: ResponsePermission | null;

  constructor(p: NatsPermissions) {
    this.pubAllow = p.publish?.allow != null ? compile(p.publish.allow) : null;
    this.pubDeny = compile(p.publish?.deny ?? []);
    this.subAllow = p.subscribe?.allow != null ? compile(p.subscribe.allow) : null;
    this.subDeny = compile(p.subscribe?.deny ?? []);
    this.responses = p.allowResponses ?? null;
  }

  canPublish(subject: string): boolean {
    const hit = this.pubCache.get(subject);
    if (hit !== undefined) return hit;
    const st = subject.split('.');
    let ok = this.pubAllow === null || this.pubAllow.some((e) => tokenPatternMatches(e.tokens, st));
    if (ok) ok = !this.pubDeny.some((e) => tokenPatternMatches(e.tokens, st));
    if (this.pubCache.size >= PUB_CACHE_MAX) this.pubCache.clear();
    this.pubCache.set(subject, ok);
    return ok;
  }

  canSubscribe(subject: string, queue?: string): boolean {
    const st = subject.split('.');
    const qt = queue?.split('.');
    let ok = true;
    if (this.subAllow !== null) {
      const covering = this.subAllow.filter((e) => covers(e.tokens, st));
      ok = covering.some((e) => e.queue === undefined);
      if (qt !== undefined) {
        const queued = covering.filter((e) => e.queue !== undefined);
        if (queued.length > 0) ok = queued.some((e) => queueMatches(qt, e));
      }
    }
    if (ok) {
      for (const e of this.subDeny) {
        if (!tokenPatternMatches(e.tokens, st)) continue;
        if (e.queue === undefined || (qt !== undefined && queueMatches(qt, e))) return false;
      }
    }
    return ok;
  }

  /**
   * True when deliveries to an (accepted) subscription on `subject` must be filtered with
   * {@link canDeliver}: a wildcard subscription overlapping a deny entry.
   */
  needsDeliveryFilter(subject: string): boolean {
    if (!hasWildcards(subject)) return false;
    const st = subject.split('.');
    return this.subDeny.some((e) => e.queue === undefined && overlaps(e.tokens, st));
  }

  /** May a message on the literal `subject` be delivered (subscribe deny list)? */
  canDeliver(subject: string): boolean {
    const hit = this.deliverCache.get(subject);
    if (hit !== undefined) return hit;
    const st = subject.split('.');
    const ok = !this.subDeny.some((e) => e.queue === undefined && tokenPatternMatches(e.tokens, st));
    if (this.deliverCache.size >= PUB_CACHE_MAX) this.deliverCache.clear();
    this.deliverCache.set(subject, ok);
    return ok;
  }
}

/** Entries kept before expired reply subjects are pruned. */
const REPLIES_PRUNE_AT = 4096;
/** Hard bound on remembered reply subjects (oldest dropped first). */
const REPLIES_MAX = 65536;

/**
 * `allow_responses` of one connection: reply subjects of messages delivered to it may be
 * published to (max times each, until they expire) even when publish permissions deny them.
 */
export class ResponseTracker {
  private readonly replies = new Map<string, { n: number; t: number }>();

  constructor(private readonly perm: ResponsePermission) {}

  sameAs(p: ResponsePermission): boolean {
    return p.max === this.perm.max && p.expires === this.perm.expires;
  }

  /** A message carrying `reply` was delivered to the connection. */
  noteRequest(reply: string): void {
    const now = Date.now();
    if (this.replies.size >= REPLIES_PRUNE_AT) this.prune(now);
    this.replies.delete(reply);
    this.replies.set(reply, { n: 0, t: now });
  }

  /** Counts one response on `subject`; true when it is allowed. */
  allowResponse(subject: string): boolean {
    const r = this.replies.get(subject);
    if (r === undefined) return false;
    r.n++;
    const { max, expires } = this.perm;
    if ((max > 0 && r.n > max) || (expires > 0 && Date.now() - r.t > expires)) {
      this.replies.delete(subject);
      return false;
    }
    if (max > 0 && r.n === max) this.replies.delete(subject);
    return true;
  }

  private prune(now: number): void {
    const exp = this.perm.expires;
    if (exp > 0) for (const [k, v] of this.replies) if (now - v.t > exp) this.replies.delete(k);
    for (const k of this.replies.keys()) {
      if (this.replies.size < REPLIES_MAX) break;
      this.replies.delete(k);
    }
  }
}
