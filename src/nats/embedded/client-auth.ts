/**
 * CONNECT and authorization of one client connection of the embedded NATS server: the
 * CONNECT options, the credentials check (bcrypt checks hold the following ops until they
 * are done), the auth timeout, the identity and permissions of the connection, and the
 * re-check of all of it on a configuration reload.
 */
import type { Socket } from 'node:net';
import type { ProtocolParser } from './parser';
import { ANONYMOUS, type Authenticator, type AuthIdentity, type Credentials } from './auth';
import { ResponseTracker } from './permissions';
import type { NatsSubscription } from './subscription';
import type { ConnectionHost } from './host';
import { CloseReason } from './close-reason';
import { ClientOutbound } from './client-outbound';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bool(v: unknown, dflt: boolean): boolean {
  return typeof v === 'boolean' ? v : dflt;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Go's %q for the subjects and names in violation texts (spec §2.7). */
export function q(s: string): string {
  return JSON.stringify(s);
}

function credentialsOf(o: Record<string, unknown>): Credentials {
  return { user: str(o.user), pass: str(o.pass), token: str(o.auth_token) };
}

export abstract class ClientAuthorization extends ClientOutbound {
  echo = true;
  // The reference's defaults apply before (and without) CONNECT.
  protected verbose = true;
  protected pedantic = true;
  protected headers = false;
  protected noResponders = false;
  protected name = '';
  protected lang = '';
  protected version = '';
  protected authPending: boolean;
  protected authTimer: NodeJS.Timeout | null = null;
  /** Who this connection is and what it may do (auth.ts / permissions.ts). */
  protected identity: AuthIdentity = ANONYMOUS;
  /** CONNECT credentials, kept to re-check them on a configuration reload. */
  private creds: Credentials = {};
  /** A CONNECT was accepted. */
  private connected = false;
  protected responses: ResponseTracker | null = null;
  /** The connection's subscriptions by sid; a permission change may remove some. */
  protected readonly subs = new Map<string, NatsSubscription>();

  /** Held while an asynchronous credentials check runs (see onConnect). */
  protected abstract readonly parser: ProtocolParser;
  abstract removeSubscription(sub: NatsSubscription): void;

  constructor(cid: number, socket: Socket, server: ConnectionHost, prefix: string) {
    super(cid, socket, server, prefix);
    this.authPending = server.auth.required;
    // With no_auth_user, that user's permissions apply from the first byte (as nats-server).
    if (server.auth.noAuthIdentity !== null) this.setIdentity(server.auth.noAuthIdentity);
  }

  /** `<<- [op]` trace line of an inbound protocol op. */
  protected traceIn(op: string): void {
    this.server.logger.trace(`${this.prefix}<<- [${op}]`);
  }

  protected armAuthTimer(): void {
    this.authTimer = setTimeout(() => {
      if (this.server.logger.isDebug) this.server.logger.debug(`${this.prefix}Authentication Timeout`);
      this.closeWithError('Authentication Timeout', CloseReason.AuthTimeout);
    }, this.server.options.authTimeout);
  }

  /** With auth required, nothing but CONNECT is allowed first (spec §5.2). */
  protected checkAuth(): boolean {
    if (!this.authPending) return true;
    this.server.logger.error(`${this.prefix}authentication error`);
    this.closeWithError('Authorization Violation', CloseReason.AuthViolation);
    return false;
  }

  onConnect(json: string): void {
    // Like the reference, keep secrets out of trace logs.
    if (this.trace) this.traceIn(`CONNECT ${json.replace(/("(?:pass|auth_token|sig|jwt)"\s*:\s*)"(?:[^"\\]|\\.)*"/g, '$1"[REDACTED]"')}`);
    let o: unknown;
    try {
      o = JSON.parse(json);
    } catch {
      o = undefined;
    }
    if (!isRecord(o)) {
      // The reference closes without -ERR on bad CONNECT JSON (spec §1.3).
      this.server.logger.error(`${this.prefix}Client parser ERROR, state=CONNECT: invalid JSON`);
      this.close(CloseReason.ProtocolViolation);
      return;
    }
    if (o.account !== undefined || o.new_account !== undefined) {
      this.closeWithError('Authorization Violation', CloseReason.AuthViolation);
      return;
    }
    const creds = credentialsOf(o);
    const auth = this.server.auth;
    const verdict = auth.verify(creds);
    if (verdict instanceof Promise) {
      // A bcrypt check takes a while: hold the ops that follow CONNECT until it is done.
      this.parser.suspend();
      this.socket.pause();
      const connect = o;
      void verdict.then(async (id) => {
        if (this.closed) return;
        this.finishConnect(connect, creds, id);
        // A configuration reload happened meanwhile: check against the new one too.
        if (this.server.auth !== auth) await this.reauthorize(this.server.auth, auth);
        if (this.closed) return;
        this.socket.resume();
        this.parser.resume();
      });
      return;
    }
    this.finishConnect(o, creds, verdict);
  }

  private finishConnect(o: Record<string, unknown>, creds: Credentials, id: AuthIdentity | null): void {
    if (id === null) {
      this.authFailed(creds.user ?? '');
      return;
    }
    const protocol = o.protocol === undefined ? 0 : o.protocol;
    if (typeof protocol !== 'number' || (protocol !== 0 && protocol !== 1)) {
      this.closeWithError('invalid client protocol', CloseReason.ProtocolViolation);
      return;
    }
    const headers = o.headers === true;
    const noResponders = o.no_responders === true;
    if (noResponders && !headers) {
      this.closeWithError('no responders requires headers support', CloseReason.ProtocolViolation);
      return;
    }
    this.verbose = bool(o.verbose, true);
    this.pedantic = bool(o.pedantic, true);
    this.echo = bool(o.echo, true);
    this.headers = headers;
    this.noResponders = noResponders;
    this.parser.headers = headers;
    this.name = str(o.name);
    this.lang = str(o.lang);
    this.version = str(o.version);
    this.creds = creds;
    this.connected = true;
    // applyIdentity, not setIdentity: a second CONNECT may change the user of existing subs.
    this.applyIdentity(id);
    if (this.authPending) {
      this.authPending = false;
      if (this.authTimer !== null) clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    if (this.verbose) this.sendOk();
  }

  protected subViolation(subject: string, queue: string | undefined, sid: string): void {
    const user = q(this.identity.user);
    if (queue === undefined) {
      this.sendErr(`Permissions Violation for Subscription to ${q(subject)}`);
      this.server.logger.error(`${this.prefix}Subscription Violation - User ${user}, Subject ${q(subject)}, SID ${sid}`);
    } else {
      this.sendErr(`Permissions Violation for Subscription to ${q(subject)} using queue ${q(queue)}`);
      this.server.logger.error(`${this.prefix}Subscription Violation - User ${user}, Subject ${q(subject)}, Queue: ${q(queue)}, SID ${sid}`);
    }
  }

  /** Subscribe deny list applied to deliveries of wildcard subscriptions that overlap it. */
  protected readonly deliveryFilter = (subject: string): boolean => this.identity.permissions?.canDeliver(subject) ?? true;

  private authFailed(user: string): void {
    this.server.logger.error(`${this.prefix}authentication error${user === '' ? '' : ` - User ${q(user)}`}`);
    this.closeWithError('Authorization Violation', CloseReason.AuthViolation);
  }

  private setIdentity(id: AuthIdentity): void {
    this.identity = id;
    const resp = id.permissions?.responses ?? null;
    if (resp === null) this.responses = null;
    else if (this.responses === null || !this.responses.sameAs(resp)) this.responses = new ResponseTracker(resp);
  }

  /**
   * Configuration reload: re-checks this connection against the new authenticator. A
   * connection whose credentials are no longer valid is closed with `Authorization
   * Violation`; the others get the new permissions, and subscriptions these no longer
   * allow are removed (with the usual violation error).
   */
  reauthorize(auth: Authenticator, prev: Authenticator): void | Promise<void> {
    if (this.closed) return;
    if (!this.connected) {
      // No CONNECT yet: the new rules apply to the CONNECT to come.
      this.authPending = auth.required;
      if (!auth.required && this.authTimer !== null) {
        clearTimeout(this.authTimer);
        this.authTimer = null;
      } else if (auth.required && this.authTimer === null) {
        this.armAuthTimer();
      }
      this.applyIdentity(auth.noAuthIdentity ?? ANONYMOUS);
      return;
    }
    const verdict = auth.reverify(this.creds, prev);
    const apply = (id: AuthIdentity | null): void => {
      if (this.closed) return;
      if (id === null) {
        this.server.logger.error(
          `${this.prefix}authentication error${this.creds.user ? ` - User ${q(this.creds.user)}` : ''} (credentials no longer valid after configuration reload)`,
        );
        this.closeWithError('Authorization Violation', CloseReason.AuthViolation);
        return;
      }
      this.applyIdentity(id);
    };
    if (verdict instanceof Promise) return verdict.then(apply);
    apply(verdict);
  }

  private applyIdentity(id: AuthIdentity): void {
    this.setIdentity(id);
    const perms = id.permissions;
    for (const sub of [...this.subs.values()]) {
      if (perms !== null && !perms.canSubscribe(sub.subject, sub.queue)) {
        this.removeSubscription(sub);
        this.subViolation(sub.subject, sub.queue, sub.sid);
        continue;
      }
      sub.filter = perms !== null && perms.needsDeliveryFilter(sub.subject) ? this.deliveryFilter : null;
    }
  }
}
