/**
 * The commit loop's wait between two attempts after a failed commit: a timer that close()
 * can cut short, so a store failed for good (2 s between attempts) closes at once.
 */
export type SetTimer = (fn: () => void, ms: number) => { unref?(): unknown } | number;
export type ClearTimer = (t: ReturnType<SetTimer>) => void;

export class RetryPause {
  private current: { timer: ReturnType<SetTimer>; done: () => void } | undefined;

  constructor(
    private readonly setTimer: SetTimer = setTimeout,
    private readonly clearTimer: ClearTimer = (t) => clearTimeout(t as NodeJS.Timeout),
  ) {}

  wait(ms: number): Promise<void> {
    this.wake();
    return new Promise((resolve) => {
      const timer = this.setTimer(() => {
        this.current = undefined;
        resolve();
      }, ms);
      this.current = { timer, done: resolve };
    });
  }

  /** Ends the current wait now (nothing when none). */
  wake(): void {
    const c = this.current;
    if (c === undefined) return;
    this.current = undefined;
    this.clearTimer(c.timer);
    c.done();
  }
}
