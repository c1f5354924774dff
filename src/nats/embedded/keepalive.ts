/**
 * Server-to-client keepalive of one client connection (spec §1.4): a PING every
 * ping_interval unless the client sent something meanwhile, and the connection is stale
 * once ping_max PINGs are outstanding without a PONG.
 */
import type { NatsServerOptions } from '../../config/options';

/** What the keepalive needs from its connection. */
export interface KeepaliveTarget {
  /** The options in force (a configuration reload may replace them). */
  options(): Readonly<Pick<NatsServerOptions, 'pingInterval' | 'pingMax'>>;
  isClosed(): boolean;
  /** Last time anything arrived from the client. */
  lastInbound(): number;
  sendPing(): void;
  /** Too many PINGs went unanswered: the connection must close. */
  stale(): void;
}

export class Keepalive {
  private timer: NodeJS.Timeout | null = null;
  private pingsOut = 0;

  constructor(private readonly conn: KeepaliveTarget) {}

  /** Arms the next PING (no-op with ping_interval 0). */
  start(): void {
    const iv = this.conn.options().pingInterval;
    if (iv > 0) this.timer = setTimeout(this.onTimer, iv);
  }

  /** A PONG arrived: no PING is outstanding any more. */
  pong(): void {
    this.pingsOut = 0;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    if (this.conn.isClosed()) return;
    const o = this.conn.options();
    // Skip rule (spec §1.4): recent inbound traffic proves the client is alive.
    if (Date.now() - this.conn.lastInbound() < o.pingInterval) {
      this.start();
      return;
    }
    if (this.pingsOut + 1 > o.pingMax) {
      this.conn.stale();
      return;
    }
    this.pingsOut++;
    this.conn.sendPing();
    this.start();
  };
}
