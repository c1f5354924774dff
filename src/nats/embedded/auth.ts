/**
 * Client authentication of the embedded NATS server (spec nats-core §5): a token, a single
 * user/password, or a users list with per-user permissions, plus `no_auth_user`.
 *
 * Built once from the options (and again on a configuration reload). An invalid
 * combination is an {@link AuthConfigError}, with nats-server's wording, so the server
 * refuses to start (or the reload is refused) instead of guessing which one was meant.
 *
 * Passwords and tokens may be bcrypt hashes; checking one costs tens of milliseconds of
 * CPU, so it runs asynchronously (bcryptjs yields to the event loop) and `verify` returns
 * a Promise only in that case. Plain secrets are compared in constant time, synchronously.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NatsAuthUser, NatsPermissions, NatsServerOptions } from '../../config/options';
import { Permissions, validatePermissions } from './permissions';
import { StanServerError } from '../../errors';

export class AuthConfigError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

/** What a client sent in CONNECT that matters for authentication. */
export interface Credentials {
  user?: string;
  pass?: string;
  token?: string;
}

/** Who a connection is once authenticated. */
export interface AuthIdentity {
  /** The user name ('' for token authentication). */
  readonly user: string;
  /** null = everything allowed. */
  readonly permissions: Permissions | null;
  /** Bound through `no_auth_user` (the client sent no credentials). */
  readonly noAuth: boolean;
}

/** Identity of every connection when no authentication is configured. */
export const ANONYMOUS: AuthIdentity = { user: '', permissions: null, noAuth: false };

const BCRYPT_PREFIX = /^\$2[abxy]\$\d{2}\$/;
const BCRYPT_VALID = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export function isBcrypt(secret: string): boolean {
  return BCRYPT_PREFIX.test(secret);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time comparison of plain secrets (hashing first hides their lengths). */
function plainEquals(configured: string, given: string): boolean {
  return timingSafeEqual(digest(configured), digest(given));
}

/** true/false at once for plain secrets, a Promise for bcrypt hashes. */
function checkSecret(configured: string, given: string): boolean | Promise<boolean> {
  if (!isBcrypt(configured)) return plainEquals(configured, given);
  // bcryptjs is loaded on first use: most servers have no bcrypt secret, and start-up time counts.
  return import('bcryptjs').then(({ compare }) => compare(given, configured)).catch(() => false);
}

interface UserEntry {
  readonly password: string;
  readonly identity: AuthIdentity;
}

export class Authenticator {
  /** Some authentication is configured: credentials in CONNECT are checked. */
  readonly enabled: boolean;
  /**
   * INFO `auth_required`, CONNECT must be the first op, auth timeout. False with
   * `no_auth_user` (as nats-server: clients without credentials are welcome).
   */
  readonly required: boolean;
  /** The `no_auth_user` identity, bound to a connection from its first byte. */
  readonly noAuthIdentity: AuthIdentity | null;
  /** Configured secrets that are not bcrypt hashes (nats-server warns about them). */
  readonly plaintextPasswords: boolean;

  private readonly token: string;
  private readonly singleUser: string;
  private readonly singlePassword: string;
  private readonly users = new Map<string, UserEntry>();
  private readonly singleIdentity: AuthIdentity | null;

  constructor(o: Readonly<NatsServerOptions>) {
    const hasUsers = o.users.length > 0;
    if (o.authorization !== '' && hasUsers) throw new AuthConfigError('Can not have a token and a users array (remove the token or the users list)');
    if (o.username !== '' && hasUsers) {
      throw new AuthConfigError('Can not have a single user/pass and a users array (remove --user/--pass or authorization.user, or the users list)');
    }
    if (o.authorization !== '' && o.username !== '') throw new AuthConfigError('Cannot have a user/pass and token (use either --user/--pass or --auth)');
    if (o.password !== '' && o.username === '') throw new AuthConfigError('a password is configured without a user name (add --user or authorization.user)');
    this.token = o.authorization;
    this.singleUser = o.username;
    this.singlePassword = o.password;

    const defaults = o.defaultPermissions !== undefined ? this.compilePermissions(o.defaultPermissions, 'default_permissions') : null;
    this.singleIdentity = o.username !== '' ? { user: o.username, permissions: defaults, noAuth: false } : null;
    for (const [i, u] of o.users.entries()) {
      if (u.user === '') throw new AuthConfigError(`authorization users[${i}] has no user name`);
      if (this.users.has(u.user)) throw new AuthConfigError(`authorization users: duplicate user ${JSON.stringify(u.user)}`);
      this.checkHashShape(u.password, `password of user ${JSON.stringify(u.user)}`);
      const perms = u.permissions !== undefined ? this.compilePermissions(u.permissions, `permissions of user ${JSON.stringify(u.user)}`) : defaults;
      this.users.set(u.user, { password: u.password, identity: { user: u.user, permissions: perms, noAuth: false } });
    }
    this.checkHashShape(o.password, 'authorization password');
    this.checkHashShape(o.authorization, 'authorization token');

    this.enabled = o.authorization !== '' || o.username !== '' || hasUsers;
    if (o.noAuthUser !== '') {
      const entry = this.users.get(o.noAuthUser);
      if (entry === undefined) {
        throw new AuthConfigError(`no_auth_user: ${JSON.stringify(o.noAuthUser)} not present as user in authorization block or account configuration`);
      }
      this.noAuthIdentity = { ...entry.identity, noAuth: true };
    } else {
      this.noAuthIdentity = null;
    }
    this.required = this.enabled && this.noAuthIdentity === null;
    this.plaintextPasswords =
      (o.password !== '' && !isBcrypt(o.password)) || o.users.some((u: NatsAuthUser) => !isBcrypt(u.password));
  }

  private compilePermissions(p: NatsPermissions, what: string): Permissions {
    const errs = validatePermissions(p);
    if (errs.length > 0) throw new AuthConfigError(`${what}: ${errs.join('; ')}`);
    return new Permissions(p);
  }

  private checkHashShape(secret: string, what: string): void {
    if (isBcrypt(secret) && !BCRYPT_VALID.test(secret)) {
      throw new AuthConfigError(`${what} looks like a bcrypt hash but is not a valid one (expected $2a$, $2b$ or $2y$, cost, and 53 characters)`);
    }
  }

  /**
   * Checks CONNECT credentials. Returns the identity, or null when refused; a Promise only
   * when a bcrypt hash has to be checked.
   */
  verify(c: Credentials): AuthIdentity | null | Promise<AuthIdentity | null> {
    const l = this.lookup(c);
    if (l === null || !('secret' in l)) return l;
    return then(checkSecret(l.secret, l.given), (ok) => (ok ? l.identity : null));
  }

  /**
   * Configuration reload: like {@link verify} for credentials that `prev` (the previous
   * configuration) accepted, but without checking the secret again when its configured
   * value did not change, so a reload does not cost one bcrypt run per connection.
   */
  reverify(c: Credentials, prev: Authenticator): AuthIdentity | null | Promise<AuthIdentity | null> {
    const l = this.lookup(c);
    if (l === null || !('secret' in l)) return l;
    const p = prev.lookup(c);
    if (p !== null && 'secret' in p && p.secret === l.secret) return l.identity;
    return this.verify(c);
  }

  /** Who the credentials claim to be, and the secret to check them with (if any). */
  private lookup(c: Credentials): AuthIdentity | null | { secret: string; given: string; identity: AuthIdentity } {
    if (!this.enabled) return ANONYMOUS;
    const user = c.user ?? '';
    const pass = c.pass ?? '';
    const token = c.token ?? '';
    if (this.users.size > 0) {
      if (user === '' && pass === '' && token === '') return this.noAuthIdentity;
      const entry = this.users.get(user);
      if (entry === undefined) return null;
      return { secret: entry.password, given: pass, identity: entry.identity };
    }
    if (this.token !== '') return { secret: this.token, given: token, identity: ANONYMOUS };
    // Single user: the name is not secret, the password is.
    if (user !== this.singleUser || this.singleIdentity === null) return null;
    return { secret: this.singlePassword, given: pass, identity: this.singleIdentity };
  }
}

/** Applies `f` now for a plain value, or after the Promise resolves. */
function then<T, R>(v: T | Promise<T>, f: (x: T) => R): R | Promise<R> {
  return v instanceof Promise ? v.then(f) : f(v);
}
