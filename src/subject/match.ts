/**
 * Wildcard matching between subjects and patterns (`*` = one token, `>` = one or more
 * trailing tokens; spec nats-core §3). Used by permissions, partitioning, per-channel
 * limits and /subsz filters; the sublist keeps its own matcher, tuned to its index.
 */

/** Does the literal `subject` match the (possibly wildcard) `pattern`? */
export function subjectMatches(pattern: string, subject: string): boolean {
  return tokenPatternMatches(pattern.split('.'), subject.split('.'));
}

/** Tokenized form of subjectMatches: `s`'s `*`/`>` are taken as plain tokens. */
export function tokenPatternMatches(p: readonly string[], s: readonly string[]): boolean {
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Some subject is matched by both (tokenized) patterns. */
export function tokenPatternsOverlap(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === '>' || y === '>') return x !== undefined && y !== undefined;
    if (x === undefined || y === undefined) return false;
    if (x !== '*' && y !== '*' && x !== y) return false;
  }
  return true;
}

/**
 * Every subject matched by pattern `s` is also matched by pattern `p` (`foo.>` covers
 * `foo.*` and `foo.bar`; `foo.*` does not cover `foo.>`; only `>` covers `>`).
 */
export function tokenPatternCovers(p: readonly string[], s: readonly string[]): boolean {
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    const u = s[i];
    if (u === '>') return false;
    if (t === '*') continue; // covers a literal token and `*`
    if (t !== u) return false;
  }
  return p.length === s.length;
}
