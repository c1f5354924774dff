/**
 * Hides secrets in NATS URLs before they reach a log line. Kept apart from the connection
 * code so the start-up path can use it without loading the NATS client library.
 */

/** `nats://user:pass@host` → `nats://user:[REDACTED]@host`; `nats://token@host` → `nats://[REDACTED]@host`. */
export function redactURL(u: string): string {
  // Greedy up to the authority's last `@`: a password may contain `@` (the URL parser splits
  // user info from the host at the last one, and so must we).
  return u.replace(/^([a-z][a-z0-9+.-]*:\/\/)?([^/]*)@/i, (_m, scheme: string | undefined, info: string) => {
    const colon = info.indexOf(':');
    return `${scheme ?? ''}${colon >= 0 ? `${info.slice(0, colon)}:[REDACTED]` : '[REDACTED]'}@`;
  });
}
