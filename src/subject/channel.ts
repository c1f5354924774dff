/**
 * The one rule for STAN channel names, used by publish, subscribe, the config file, the
 * command line and the store limits.
 *
 * A channel is a literal NATS subject (spec stan §3.2): non-empty, no empty token (so no
 * leading, trailing or double dot), no `*` or `>` anywhere, and no `/` (refused by the
 * reference too; the FILE store names a directory after each channel). Whitespace is refused
 * too: the spec requires a valid literal subject and NATS subjects cannot hold space, TAB,
 * CR, LF or FF (nats-core §3), so such a channel could never be reached by a client.
 *
 * Per-channel limits may also be patterns (spec stan §5.2, `foo.*`, `foo.>`): with
 * `wildcardsAllowed`, a token may be exactly `*`, and the last token may be exactly `>`;
 * `foo*` or `f>` stay invalid, as in the reference.
 */
import { DOT, GT, STAR, isSubjectWhitespace } from './syntax';

const SLASH = 47;

/** Is `name` a valid channel name, or (with `wildcardsAllowed`) a valid limits pattern? */
export function isValidChannelName(name: string, wildcardsAllowed = false): boolean {
  const n = name.length;
  if (n === 0) return false;
  let tokStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? name.charCodeAt(i) : DOT; // a '.' sentinel closes the last token
    if (c === DOT) {
      if (i === tokStart) return false;
      tokStart = i + 1;
    } else if (c === SLASH || isSubjectWhitespace(c)) {
      return false;
    } else if (c === STAR || c === GT) {
      if (!wildcardsAllowed) return false;
      const wholeToken = i === tokStart && (i + 1 === n || name.charCodeAt(i + 1) === DOT);
      if (!wholeToken || (c === GT && i + 1 !== n)) return false;
    }
  }
  return true;
}

/** True when a valid name or pattern has no wildcard token (it names one channel). */
export function isLiteralChannelName(name: string): boolean {
  return !name.includes('*') && !name.includes('>');
}

/** The error text for a name refused by {@link isValidChannelName} (the reference's wording). */
export function invalidChannelNameMessage(name: string): string {
  return `invalid channel name ${JSON.stringify(name)}`;
}
