/**
 * Configuration reload of the embedded NATS server (SIGHUP, spec stan §9).
 *
 * What can change at runtime: authorization (token, user/password, users, permissions,
 * default_permissions, no_auth_user, timeout) and the NATS debug/trace flags (-D/-V).
 * Everything else (ports, host, limits, TLS, logging destination …) keeps its running
 * value and is reported, so the caller can warn about it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { NatsServerOptions } from '../../config/options';
import { Authenticator } from './auth';
import { CloseReason, type ClientConnection } from './client';
import type { ReloadTarget } from './host';

export interface NatsReloadResult {
  /** Options applied, by their NatsServerOptions field name. */
  applied: (keyof NatsServerOptions)[];
  /** Options that differ from the running ones but cannot change at runtime (kept). */
  notApplied: (keyof NatsServerOptions)[];
  /** Connections closed because their credentials are no longer valid. */
  closedConnections: number;
}

type Key = keyof NatsServerOptions;

const AUTH_KEYS: ReadonlySet<Key> = new Set<Key>([
  'username',
  'password',
  'authorization',
  'users',
  'defaultPermissions',
  'noAuthUser',
  'authTimeout',
]);
const LOG_KEYS: ReadonlySet<Key> = new Set<Key>(['debug', 'trace']);


/** Keys whose values differ between two option objects (deep comparison), sorted. */
export function changedKeys(cur: object, next: object): string[] {
  const a = cur as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !isDeepStrictEqual(a[k], b[k])).sort();
}
/** Applies `next` to `server` (see the module comment); called through server.reload(). */
export async function reloadNatsOptions(
  server: ReloadTarget,
  next: Readonly<NatsServerOptions>,
  clients: ClientConnection[],
): Promise<NatsReloadResult> {
  const cur = server.options;
  const changed = changedKeys(cur, next) as Key[];
  const authChanged = changed.filter((k) => AUTH_KEYS.has(k));
  let logChanged = changed.filter((k) => LOG_KEYS.has(k));
  const notApplied = changed.filter((k) => !AUTH_KEYS.has(k) && !LOG_KEYS.has(k));
  if (logChanged.length > 0 && server.logger.setLevels === undefined) {
    // An embedder's logger without runtime levels: nothing to apply them to.
    notApplied.push(...logChanged);
    logChanged = [];
  }

  const prevAuth = server.auth;
  // Throws AuthConfigError before anything is applied.
  const auth = authChanged.length > 0 ? new Authenticator(next) : prevAuth;

  const applied: NatsServerOptions = { ...cur };
  for (const k of [...authChanged, ...logChanged]) copyOption(applied, next, k);
  server.options = applied;
  if (logChanged.length > 0) {
    server.logger.setLevels?.(next.debug, next.trace);
    for (const c of clients) c.refreshLogFlags();
  }
  let closedConnections = 0;
  if (auth !== prevAuth) {
    server.auth = auth;
    server.rebuildInfo();
    if (auth.plaintextPasswords) server.logger.warn('Plaintext passwords detected, use nkeys or bcrypt');
    await Promise.all(clients.map((c) => c.reauthorize(auth, prevAuth)));
    closedConnections = clients.filter((c) => c.closed && c.closeReason === CloseReason.AuthViolation).length;
  }
  return { applied: [...authChanged, ...logChanged], notApplied: notApplied.sort(), closedConnections };
}

export function copyOption<K extends Key>(dst: NatsServerOptions, src: Readonly<NatsServerOptions>, k: K): void {
  dst[k] = src[k];
}
