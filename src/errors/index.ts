/**
 * src/errors/ owns how the server talks about failures: the one helper that turns anything
 * thrown into log/reply text, and the base class of the server's own errors. Every error
 * class in src/ derives from StanServerError and names its kind, so a caller (start-up,
 * the CLI, the import command) can branch on what failed without knowing each class.
 */

/** The kinds of failure the server tells apart; each error class belongs to one. */
export type ErrorKind =
  /** A bad flag, configuration file entry or combination of options: fix the configuration. */
  | 'configuration'
  /** The message store failed (connection, schema, encryption, a corrupt record). */
  | 'store'
  /** A data source (DSN, host list) cannot be used as given. */
  | 'data-source'
  /** The fault-tolerance lease was lost or cannot be taken. */
  | 'ft-lease'
  /** The NATS side: the embedded or child server, a request without reply, a partition conflict. */
  | 'nats'
  /** A client sent bytes that do not follow the NATS or STAN protocol. */
  | 'client-protocol'
  /** Importing a reference store failed. */
  | 'import'
  /** A monitoring/admin HTTP request was refused. */
  | 'admin-request';

/** Base of every error class the server defines; `kind` says which family it belongs to. */
export abstract class StanServerError extends Error {
  abstract readonly kind: ErrorKind;
}

/** True for the server's own errors (as opposed to a bug or a library's error). */
export function isStanServerError(err: unknown): err is StanServerError {
  return err instanceof StanServerError;
}

/** The message of anything thrown: what log lines and error replies show. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Anything thrown as an Error, for callbacks and rejections that must carry an Error. */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
