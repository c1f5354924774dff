/**
 * Server-to-client heartbeats (spec §3.1): a request on each client's heartbeat inbox every
 * hb_interval; after more than hb_fail_count failures in a row the client is closed.
 */
import type { CoreContext } from './context';
import type { Client } from './state';

export class Heartbeats {
  constructor(
    private readonly ctx: CoreContext,
    /** Closes a client that stopped answering. */
    private readonly onDead: (c: Client) => void,
  ) {}

  /** (Re)arms the client's next heartbeat in `delay` ms. */
  schedule(c: Client, delay: number): void {
    if (this.ctx.closed() || c.closing) return;
    this.ctx.clock.clearTimeout(c.hbTimer);
    c.hbTimer = this.ctx.clock.setTimeout(() => this.send(c), delay);
  }

  stop(c: Client): void {
    this.ctx.clock.clearTimeout(c.hbTimer);
    c.hbTimer = undefined;
  }

  private send(c: Client): void {
    c.hbTimer = undefined;
    const { ctx } = this;
    if (ctx.closed() || c.closing) return;
    ctx.nc.request(c.info.HbInbox, new Uint8Array(0), ctx.opts.clientHBTimeout).then(
      () => {
        c.failedHB = 0;
        this.schedule(c, ctx.opts.clientHBInterval);
      },
      () => {
        if (ctx.closed() || c.closing) return;
        c.failedHB++;
        if (c.failedHB > ctx.opts.clientHBFailCount) {
          ctx.log.debug(`[Client:${c.id}] Timed out on heartbeats`);
          this.onDead(c);
          return;
        }
        this.schedule(c, ctx.opts.clientHBInterval);
      },
    );
  }
}
