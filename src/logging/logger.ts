/**
 * Logging contract shared by the embedded NATS server and the STAN core.
 *
 * The reference prints lines such as
 *   [87332] 2018/10/17 14:11:24.641146 [INF] STREAM: Streaming Server is ready
 * Operators grep these, so the default output keeps that shape. The STAN core logs through
 * a child whose lines carry the "STREAM: " prefix; the embedded NATS logs without it, as
 * the reference's embedded nats-server does.
 */
export interface Logger {
  /** [INF] — always printed. */
  notice(msg: string): void;
  /** [WRN] */
  warn(msg: string): void;
  /** [ERR] */
  error(msg: string): void;
  /** [FTL] — the caller decides whether to exit. */
  fatal(msg: string): void;
  /** [DBG] — printed only when debug is enabled for this logger's domain. */
  debug(msg: string): void;
  /** [TRC] — printed only when trace is enabled for this logger's domain. */
  trace(msg: string): void;
  /** Cheap guards so hot paths can skip building trace strings. */
  readonly isDebug: boolean;
  readonly isTrace: boolean;
  /** Changes debug/trace at runtime (configuration reload); loggers that cannot leave it out. */
  setLevels?(debug: boolean, trace: boolean): void;
}

/** A logger that drops everything; handy for unit tests and embedding. */
export const silentLogger: Logger = {
  notice() {},
  warn() {},
  error() {},
  fatal() {},
  debug() {},
  trace() {},
  isDebug: false,
  isTrace: false,
};
