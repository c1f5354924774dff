/**
 * What the syslog sinks share: the SyslogSink contract, the failure bookkeeping (one stderr
 * line when a target becomes unavailable or is back, dropped records counted), the retry
 * backoff and the output limits.
 */

/** Records kept while a remote target is (re)connecting; older ones are dropped beyond it. */
export const MAX_QUEUED_RECORDS = 1000;
/** Bytes buffered towards a connected target (socket or pipe) before records are dropped. */
export const MAX_BUFFERED_BYTES = 1 << 20;
const DROP_REPORT_INTERVAL_MS = 60_000;
const BACKOFF_MIN_MS = 500;
export const UDP_RECOVERY_QUIET_MS = 10_000;
const BACKOFF_MAX_MS = 30_000;

/** Where a sink reports its own trouble: stderr, the one place left. */
export type Reporter = (line: string) => void;
export const stderrReporter: Reporter = (line) => {
  try {
    process.stderr.write(`nats-streaming-server: ${line}\n`);
  } catch {
    // stderr is gone too: nothing left to tell.
  }
};

/**
 * Failure bookkeeping shared by the sinks: one stderr line when the target becomes
 * unavailable, one when it is back, and the count of dropped records at most once a minute.
 */
export class Health {
  private down = false;
  private reason = '';
  private dropped = 0;
  private droppedSinceDown = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly target: string, private readonly report: Reporter) {}

  get isDown(): boolean {
    return this.down;
  }

  failed(reason: string): void {
    this.reason = reason;
    if (this.down) return;
    this.down = true;
    this.droppedSinceDown = 0;
    this.report(`syslog ${this.target} unavailable: ${reason}; log lines are dropped until it is back (retrying)`);
  }

  /** Returns the note to log once the target works again, or undefined if it never failed. */
  recovered(): string | undefined {
    if (!this.down) return undefined;
    this.down = false;
    const note = `syslog ${this.target} available again; ${this.droppedSinceDown} log line(s) were dropped meanwhile`;
    this.report(note);
    return note;
  }

  drop(n = 1): void {
    this.dropped += n;
    if (this.down) this.droppedSinceDown += n;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const n2 = this.dropped;
      this.dropped = 0;
      if (n2 > 0) {
        this.report(`syslog ${this.target}: ${n2} log line(s) dropped in the last minute${this.down ? ` (${this.reason})` : ' (output backlog)'}`);
      }
    }, DROP_REPORT_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class Backoff {
  private ms = BACKOFF_MIN_MS;
  next(): number {
    const v = this.ms;
    this.ms = Math.min(this.ms * 2, BACKOFF_MAX_MS);
    return v;
  }
  reset(): void {
    this.ms = BACKOFF_MIN_MS;
  }
}

/** A syslog destination. */
export interface SyslogSink {
  /** Sends one message (split into one record per line) with the given severity. */
  write(severity: number, msg: string): void;
  /** Sends what is buffered and releases the connection or child; bounded by `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

export interface SinkOptions {
  tag: string;
  pid?: number;
  report?: Reporter;
}

export function errText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * Waits for `p`, at most `ms`. The timer is referenced on purpose: while closing, the
 * (otherwise unreferenced) sink must keep the process alive until its records are out.
 */
export function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    void p.finally(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
