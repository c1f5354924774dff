/**
 * The executable's server lifecycle: start (possibly waiting as an FT standby), stop on a
 * signal, step down, die on a fatal error, and go back to standby (--ft_standby_on_loss).
 * Every way out goes through one path, {@link ServerLifecycle.exitWith}: shut the server
 * down (errors logged, never thrown), remove the pid file, flush the log and exit with the
 * reason's code.
 */
import * as fs from 'node:fs';
import type { Logger } from '../logging/logger';
import { errorText } from '../errors';
import { LeaseLostError } from '../ft/lease';

/** Why the process ends; each reason has the reference's exit code. */
export type ExitReason = StopSignal | 'step-down' | 'fatal' | 'start-failed';

/** A requested, graceful stop. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

export const EXIT_CODES: Readonly<Record<ExitReason, number>> = {
  SIGINT: 0,
  // 128 + SIGTERM, as the reference.
  SIGTERM: 143,
  // The server stopped serving: non-zero so that a supervisor restarts it.
  'step-down': 1,
  fatal: 1,
  'start-failed': 1,
};

/** What the lifecycle needs of a started server. */
export interface StoppableServer {
  shutdown(): Promise<void>;
}

/** Called by the server when it stops serving on its own. */
export interface ServerEvents {
  /** Aborts a start that waits (an FT standby waiting for the lease). */
  signal: AbortSignal;
  /** A fatal error, already logged (the nats-server child died, a partition conflict…). */
  onFatal(): void;
  /** This server lost the FT lease. */
  onStepDown(): void;
}

export interface LifecycleDeps<S extends StoppableServer> {
  /** Starts the server; resolves once it serves, rejects if it cannot (or was aborted). */
  start(events: ServerEvents): Promise<S>;
  /** --ft_standby_on_loss: after a step-down, start over as a standby instead of exiting. */
  standbyOnLoss: boolean;
  /** -P: written once the server serves, removed on every exit ('' = none). */
  pidFile: string;
  log: Logger;
  /** Reports a start that failed for another reason than a requested stop. */
  startFailed(err: unknown): void;
  /** Flushes the log and ends the process with `code`. */
  exit(code: number): void;
}

export class ServerLifecycle<S extends StoppableServer> {
  private current: S | undefined;
  /** A stop requested while no server was serving (starting, standby): its reason. */
  private pendingStop: StopSignal | undefined;
  private exiting = false;
  private startup = new AbortController();

  constructor(private readonly deps: LifecycleDeps<S>) {}

  /** The serving server, if any (undefined while starting or waiting as a standby). */
  get server(): S | undefined {
    return this.current;
  }

  /** Starts the server (again, after a step-down with --ft_standby_on_loss). */
  async launch(): Promise<void> {
    if (this.pendingStop !== undefined) {
      // Stopped before the (re)start began: its abort could not reach this start.
      this.exitWith(this.pendingStop);
      return;
    }
    this.startup = new AbortController();
    let started: S;
    try {
      started = await this.deps.start({
        signal: this.startup.signal,
        onFatal: () => this.exitWith('fatal'),
        onStepDown: () => this.stepDown(),
      });
    } catch (err) {
      if (this.pendingStop !== undefined) {
        // Stopped while starting (e.g. an FT standby): a normal, requested stop.
        this.deps.log.notice('Shutting down.');
        this.exitWith(this.pendingStop);
        return;
      }
      this.deps.startFailed(err);
      // The lease was lost before the server served (src/stan/streaming-server.ts): a
      // step-down like any other, so --ft_standby_on_loss sends it back to standby.
      if (err instanceof LeaseLostError) this.stepDown();
      else this.exitWith('start-failed');
      return;
    }
    this.current = started;
    if (this.deps.pidFile) fs.writeFileSync(this.deps.pidFile, `${process.pid}`);
    if (this.pendingStop !== undefined) this.stop(this.pendingStop);
  }

  /** SIGINT/SIGTERM: a graceful stop, also while starting or waiting as a standby. */
  stop(reason: StopSignal): void {
    if (this.current === undefined) {
      this.pendingStop ??= reason;
      this.startup.abort();
      return;
    }
    this.exitWith(reason);
  }

  private stepDown(): void {
    if (!this.deps.standbyOnLoss) {
      this.exitWith('step-down');
      return;
    }
    const old = this.current;
    this.current = undefined;
    void this.shutDown(old).then(() => {
      if (this.pendingStop !== undefined) {
        this.exitWith(this.pendingStop);
        return;
      }
      this.deps.log.notice('ft: going back to standby');
      void this.launch();
    });
  }

  /** The one way out: shut down, remove the pid file, flush the log, exit. Runs once. */
  exitWith(reason: ExitReason): void {
    if (this.exiting) return;
    this.exiting = true;
    const server = this.current;
    void this.shutDown(server).then(() => {
      if (this.deps.pidFile) fs.rmSync(this.deps.pidFile, { force: true });
      this.deps.exit(EXIT_CODES[reason]);
    });
  }

  /** Never rejects: a failed shutdown is logged, and the exit goes on. */
  private async shutDown(server: S | undefined): Promise<void> {
    if (server === undefined) return;
    try {
      await server.shutdown();
    } catch (err) {
      this.deps.log.error(`Error during shutdown: ${errorText(err)}`);
    }
  }
}
