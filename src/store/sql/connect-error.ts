/**
 * Start-up failures to reach the SQL database, said in one line an operator can act on: which
 * store and which source (password redacted) could not be reached, the driver's reason, and
 * what to check. The drivers' own errors (`connect ECONNREFUSED 127.0.0.1:1`, or an empty
 * message for Node's multi-address AggregateError) name none of that.
 */
import { redactDataSource, type SqlDriver } from './dsn';
import { StanServerError } from '../../errors';

export class StoreConnectError extends StanServerError {
  override readonly kind = 'store' as const;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreConnectError';
  }
}

/** Socket-level codes: the database server was not reached at all. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'ENOENT']);
/** Reached, but the login was refused (PostgreSQL SQLSTATE 28xxx, MySQL/MariaDB codes). */
const LOGIN_REFUSED = new Set(['28P01', '28000', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR']);
/** Reached, but the database named in the source does not exist. */
const NO_DATABASE = new Set(['3D000', 'ER_BAD_DB_ERROR']);

interface DriverError {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

function codeOf(err: unknown): string {
  const c = (err as DriverError | null)?.code;
  return typeof c === 'string' ? c : '';
}

/** The driver's reason; Node's AggregateError (one error per address tried) has an empty message. */
function reasonOf(err: unknown): string {
  const e = err as DriverError | null;
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  if (msg !== '') return msg;
  if (Array.isArray(e?.errors)) {
    const inner = e.errors.map((x) => reasonOf(x)).filter((m) => m !== '');
    if (inner.length > 0) return inner.join('; ');
  }
  return codeOf(err) || 'unknown error';
}

function driverName(driver: SqlDriver): string {
  return driver === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB';
}

/**
 * When `err` says the database could not be reached or refused the login, a
 * StoreConnectError naming the store, the redacted source and what to check; else `err`.
 */
export function describeConnectFailure(driver: SqlDriver, source: string, err: unknown): unknown {
  const code = codeOf(err);
  let check: string;
  if (UNREACHABLE.has(code)) {
    check =
      'check that the database server is running and accepts connections at the host and port (or socket) of --sql_source, ' +
      'and that no firewall is in the way';
  } else if (LOGIN_REFUSED.has(code)) {
    check = 'check the user name and password in --sql_source, and that this user may log in from this host';
  } else if (NO_DATABASE.has(code)) {
    check = 'create the database (nats-streaming-server migrate then creates the schema) or correct its name in --sql_source';
  } else {
    return err;
  }
  return new StoreConnectError(
    `SQL store: cannot connect to the ${driverName(driver)} database ${redactDataSource(source)} (--sql_source): ${reasonOf(err)}; ${check}`,
    { cause: err },
  );
}
