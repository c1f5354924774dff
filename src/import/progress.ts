/**
 * Import progress: on a terminal a bar redrawn in place (messages/s, ETA); otherwise (logs,
 * pipes, CI) a plain line at most every `intervalMs`, plus a last line. The clock is
 * injected so tests can drive it.
 */
export interface ProgressOptions {
  total: number;
  isTTY: boolean;
  write: (s: string) => void;
  now?: () => number;
  /** Plain mode: minimum time between two lines (ms). */
  intervalMs?: number;
}

const BAR = 30;

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return `${h > 0 ? `${h}:${String(m).padStart(2, '0')}` : String(m)}:${String(sec).padStart(2, '0')}`;
}

export class ImportProgress {
  private done = 0;
  private readonly started: number;
  private lastDraw = -Infinity;
  private readonly now: () => number;
  private readonly interval: number;

  constructor(private readonly o: ProgressOptions) {
    this.now = o.now ?? Date.now;
    this.started = this.now();
    this.interval = o.intervalMs ?? (o.isTTY ? 200 : 2000);
  }

  add(messages: number): void {
    this.done += messages;
    const t = this.now();
    if (t - this.lastDraw < this.interval) return;
    this.lastDraw = t;
    this.draw(t);
  }

  private line(t: number): string {
    const secs = Math.max(0.001, (t - this.started) / 1000);
    const rate = this.done / secs;
    const total = Math.max(this.o.total, this.done);
    const eta = rate > 0 ? (total - this.done) / rate : Infinity;
    const pct = total === 0 ? 100 : Math.floor((this.done / total) * 100);
    return `${this.done}/${total} messages (${pct}%), ${Math.round(rate)} msgs/s, ETA ${formatDuration(eta)}`;
  }

  private draw(t: number): void {
    if (!this.o.isTTY) {
      this.o.write(`import: ${this.line(t)}\n`);
      return;
    }
    const total = Math.max(this.o.total, this.done);
    const filled = total === 0 ? BAR : Math.floor((this.done / total) * BAR);
    this.o.write(`\r[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${this.line(t)}\x1b[K`);
  }

  /** The last line: total count, time and average rate. */
  finish(): { seconds: number; rate: number } {
    const t = this.now();
    const seconds = (t - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : this.done;
    if (this.o.isTTY) this.o.write('\r\x1b[K');
    this.o.write(`import: ${this.done} messages written in ${seconds.toFixed(1)} s (${Math.round(rate)} msgs/s)\n`);
    return { seconds, rate };
  }
}
