/**
 * libpq's multi-host connection for node-postgres, which has none: try the hosts of the data
 * source in order (`host=a,b port=5432,5433`, `postgres://a:5432,b:5433/db`) and keep the first
 * whose session fits `target_session_attrs`. With `read-write` the server follows the primary
 * of a replicated PostgreSQL: after a failover (standby promoted, old primary gone or demoted)
 * new connections land on the new primary.
 *
 * The fit is decided from the session itself (`pg_is_in_recovery()` and
 * `transaction_read_only`), as libpq does for servers that do not report `in_hot_standby`.
 *
 * Used through a `pg.Client` subclass (`walkingClientClass`) so that any pg.Pool (Kysely's
 * readers, Knex's `connectionPool`) gets host-walking connections. A pooled client connects
 * once, so the walk probes hosts with short-lived clients; the host that fitted is remembered
 * and every real connection is checked again after connecting: a connection that no longer
 * fits (a failover between probe and connect) is closed and fails, and the next one walks.
 */
import type * as Pg from 'pg';
import { needsHostWalk, pgHosts, type PgConnectionOptions, type PgHost, type PgTargetSessionAttrs, type SqlConnectionConfig } from './dsn';
import { StanServerError, errorText, toError } from '../../errors';

/** What decides whether a session fits. */
export interface PgSessionState {
  /** `pg_is_in_recovery()`: a standby. */
  inRecovery: boolean;
  /** `transaction_read_only` (also on for `default_transaction_read_only=on` primaries). */
  readOnly: boolean;
}

/**
 * libpq's rules; `prefer-standby` asks for a standby on the first pass (`strict`) and takes any
 * session on the second.
 */
export function sessionFits(target: PgTargetSessionAttrs | undefined, s: PgSessionState, strict = true): boolean {
  switch (target) {
    case undefined:
      return true;
    case 'read-write':
      return !s.readOnly;
    case 'read-only':
      return s.readOnly;
    case 'primary':
      return !s.inRecovery;
    case 'standby':
      return s.inRecovery;
    case 'prefer-standby':
      return !strict || s.inRecovery;
  }
}

function describe(s: PgSessionState): string {
  if (s.inRecovery) return 'a standby (in recovery, read-only)';
  return s.readOnly ? 'a read-only primary' : 'a read-write primary';
}

export function hostLabel(h: PgHost): string {
  if (h.socketPath !== undefined) return `${h.socketPath}/.s.PGSQL.${h.port}`;
  return h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}

/** No host of the list gave a fitting session. Names every host and why. */
export class NoFittingHostError extends StanServerError {
  override readonly kind = 'data-source' as const;
  constructor(readonly target: PgTargetSessionAttrs | undefined, readonly attempts: string[]) {
    super(
      `could not connect to any PostgreSQL server of --sql_source${target === undefined ? '' : ` with target_session_attrs=${target}`}: ` +
        `${attempts.join('; ')}; check that the servers run and, after a failover, that one of them was promoted`,
    );
    this.name = 'NoFittingHostError';
  }
}

/** Options of one client: the data source's plus the lease's statement timeouts. */
export type PgClientOptions = PgConnectionOptions & Pick<Pg.ClientConfig, 'statement_timeout' | 'query_timeout'>;

export interface HostWalkOptions {
  /** Connection options shared by every host (user, password, database, TLS, options). */
  base: PgClientOptions;
  hosts: PgHost[];
  target?: PgTargetSessionAttrs;
  /** `load_balance_hosts=random`: shuffle the hosts on each walk. */
  loadBalance?: boolean;
  /** Random source of the shuffle, in [0, 1). */
  random?: () => number;
}

/** The options of one host: the shared ones with that host's address. */
export function hostConfig(base: PgClientOptions, h: PgHost): PgClientOptions {
  return { ...base, host: h.socketPath ?? h.host, port: h.port };
}

/** Reads what decides the fit from an open session. */
export async function readSessionState(c: Pick<Pg.Client, 'query'>): Promise<PgSessionState> {
  const r = await c.query<{ r: boolean; ro: string }>("SELECT pg_is_in_recovery() AS r, current_setting('transaction_read_only') AS ro");
  const row = r.rows[0];
  return { inRecovery: row?.r === true, readOnly: row?.ro === 'on' };
}

export class PgHostWalker {
  /** The host that fitted last: tried first, without a probe, by the next connection. */
  private current: PgHost | undefined;

  constructor(
    private readonly pg: Pick<typeof Pg, 'Client'>,
    readonly o: HostWalkOptions,
  ) {}

  private order(): PgHost[] {
    const hosts = [...this.o.hosts];
    if (this.o.loadBalance === true) {
      const rnd = this.o.random ?? Math.random;
      for (let i = hosts.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [hosts[i], hosts[j]] = [hosts[j] as PgHost, hosts[i] as PgHost];
      }
    }
    return hosts;
  }

  /**
   * A connected client on the first host that fits (libpq's order; `prefer-standby` makes a
   * second pass accepting any session). The caller owns the client.
   */
  async connect(): Promise<Pg.Client> {
    const attempts: string[] = [];
    const passes = this.o.target === 'prefer-standby' ? [true, false] : [true];
    for (const strict of passes) {
      for (const h of this.order()) {
        const c = new this.pg.Client(hostConfig(this.o.base, h));
        // A server going away after connect must not crash the process (no listener = throw).
        c.on('error', () => undefined);
        try {
          await c.connect();
          const st = await readSessionState(c);
          if (sessionFits(this.o.target, st, strict)) {
            this.current = h;
            return c;
          }
          if (strict || passes.length === 1) attempts.push(`${hostLabel(h)} is ${describe(st)}`);
        } catch (err) {
          attempts.push(`${hostLabel(h)}: ${err instanceof Error ? err.message || err.name : String(err)}`);
        }
        await c.end().catch(() => undefined);
      }
    }
    this.current = undefined;
    throw new NoFittingHostError(this.o.target, attempts);
  }

  /** The host the next connection should use: the last one that fitted, else the result of a walk. */
  async choose(): Promise<PgHost> {
    if (this.current !== undefined) return this.current;
    const probe = await this.connect();
    await probe.end().catch(() => undefined);
    if (this.current === undefined) throw new NoFittingHostError(this.o.target, ['the host that fitted went away']);
    return this.current;
  }

  /** Checks a connection made to `h`; forgets `h` when it no longer fits. */
  async verify(c: Pick<Pg.Client, 'query'>, h: PgHost): Promise<string | undefined> {
    const st = await readSessionState(c);
    // Not strict: a prefer-standby walk that fell back to a primary keeps using it.
    if (sessionFits(this.o.target, st, false)) return undefined;
    if (this.current === h) this.current = undefined;
    return `${hostLabel(h)} is now ${describe(st)}`;
  }

  /** Forgets the remembered host (its connection failed): the next connection walks. */
  forget(h: PgHost): void {
    if (this.current === h) this.current = undefined;
  }
}

type ConnectCallback = (err: Error | undefined) => void;

/**
 * A `pg.Client` class for `new pg.Pool({ Client })`: each client connects to the host the
 * walker chooses and is checked there before the pool hands it out.
 */
export function walkingClientClass(pg: Pick<typeof Pg, 'Client'>, walker: PgHostWalker): typeof Pg.Client {
  class WalkingClient extends pg.Client {
    override connect(): Promise<Pg.Client>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<Pg.Client> | void {
      const run = async (): Promise<Pg.Client> => {
        const h = await walker.choose();
        // pg reads host and port when it opens the socket, not in the constructor.
        this.host = h.socketPath ?? h.host;
        this.port = h.port;
        try {
          await super.connect();
        } catch (err) {
          walker.forget(h);
          throw err;
        }
        const wrong = await walker.verify(this, h).catch((err: unknown) => (errorText(err)));
        if (wrong !== undefined) {
          await this.end().catch(() => undefined);
          throw new NoFittingHostError(walker.o.target, [wrong]);
        }
        return this;
      };
      if (callback === undefined) return run();
      run().then(() => callback(undefined), (err: unknown) => callback(toError(err)));
    }
  }
  return WalkingClient;
}

/**
 * `Base` with an 'error' listener from construction on. pg-pool listens for a client's errors
 * only while the client is idle in the pool. A client being connected (the host walk's
 * verification queries) or checked out between two queries that received the server's
 * "terminating connection" message (a stop, a failover; it can arrive in the same packet as
 * the previous query's end, before the caller's next step) emitted 'error' with no listener,
 * which kills the process: an FT standby crashed when its database stopped (ft-election e2e,
 * 2 runs in 6), an in-process multi-host pool at a failover (pg-replication int, once in CI).
 * The error still reaches the caller: the client's pending and next queries fail, and the
 * pool discards the client at release.
 */
function listeningClientClass(Base: typeof Pg.Client): typeof Pg.Client {
  return class ListeningClient extends Base {
    constructor(...args: ConstructorParameters<typeof Pg.Client>) {
      super(...args);
      this.on('error', () => undefined);
    }
  };
}

/**
 * A pg.Pool for a parsed source: plain clients for one host without target_session_attrs,
 * host-walking clients otherwise; every client listens for its errors (above).
 */
export function openPgPool(
  pg: Pick<typeof Pg, 'Client' | 'Pool'>,
  conn: SqlConnectionConfig,
  client: PgClientOptions,
  poolOptions: Pick<Pg.PoolConfig, 'max' | 'connectionTimeoutMillis'>,
): Pg.Pool {
  const base = !needsHostWalk(conn)
    ? pg.Client
    : walkingClientClass(pg, new PgHostWalker(pg, {
        base: client,
        hosts: pgHosts(conn),
        ...(conn.targetSessionAttrs !== undefined ? { target: conn.targetSessionAttrs } : {}),
        ...(conn.loadBalanceHosts === true ? { loadBalance: true } : {}),
      }));
  const pool = new pg.Pool({ ...client, ...poolOptions, Client: listeningClientClass(base) });
  // An idle pooled client whose server went away (restart, failover) makes the pool emit
  // 'error': without a listener that kills the process. The pool drops the broken client.
  pool.on('error', () => undefined);
  return pool;
}
