/**
 * NATS subject grammar (spec nats-core §3): tokens separated by '.', no empty token, no
 * whitespace (space, TAB, CR, LF, FF) anywhere. A token that is exactly '*' matches one
 * token; a token that is exactly '>' matches the rest and must be last. Anything else,
 * including `foo*`, is a literal token.
 *
 * These checks run on every SUB (and every pedantic PUB), so they scan char codes once
 * instead of splitting into token arrays.
 */

export const DOT = 46;
export const STAR = 42;
export const GT = 62;

/** The whitespace NATS forbids in subjects: space, TAB, CR, LF, FF. */
export function isSubjectWhitespace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10 || c === 12;
}

/**
 * Scans a subject. Returns -1 if invalid, 0 if valid and literal, 1 if valid and it has
 * wildcards.
 */
function scan(subject: string): -1 | 0 | 1 {
  const n = subject.length;
  if (n === 0) return -1;
  let wild = false;
  let tokStart = 0;
  let sawFwc = false;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? subject.charCodeAt(i) : DOT;
    if (c === DOT) {
      const len = i - tokStart;
      if (len === 0) return -1;
      if (sawFwc) return -1; // '>' was not the last token
      if (len === 1) {
        const t = subject.charCodeAt(tokStart);
        if (t === STAR) wild = true;
        else if (t === GT) {
          wild = true;
          sawFwc = true;
        }
      }
      tokStart = i + 1;
    } else if (isSubjectWhitespace(c)) {
      return -1;
    }
  }
  return wild ? 1 : 0;
}

/** Valid subscription subject: literal or with well-placed wildcards. */
export function isValidSubject(subject: string): boolean {
  return scan(subject) >= 0;
}

/** Valid publish subject: no wildcards, no empty tokens, no whitespace. */
export function isValidLiteralSubject(subject: string): boolean {
  return scan(subject) === 0;
}

/** True if `subject` is a valid subject containing a `*` or `>` wildcard token. */
export function hasWildcards(subject: string): boolean {
  return scan(subject) === 1;
}

/** Queue group names and reply subjects: non-empty, no whitespace. */
export function isValidQueueName(queue: string): boolean {
  if (queue.length === 0) return false;
  for (let i = 0; i < queue.length; i++) if (isSubjectWhitespace(queue.charCodeAt(i))) return false;
  return true;
}
