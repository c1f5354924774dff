/**
 * Requests that arrive before the STAN core serves, i.e. while the store is being recovered.
 *
 * With an external NATS (-ns) or the nats-server child (cluster routes) the client port is not
 * ours: clients can reach our subjects before we serve, and the Go, Node and C clients do not
 * retry a STAN connect that timed out or met no responders. So the core subscribes early and
 * holds what arrives: publishes and subscription requests of clients that reconnected after a
 * restart, and connect requests and pings of clients that start together with the server.
 * Once the core serves, the held requests run in arrival order; if the start-up fails instead,
 * connect requests and pings are answered with an error saying so (clients stop waiting at
 * once), the rest is dropped (their clients time out, as with a server that is down).
 *
 * Bounded in count: beyond the limit requests are dropped, as a server that is down would.
 */
import type { NatsTransport } from '../nats/transport';
import { ConnectResponseCodec, PingResponseCodec } from '../protocol/codec';
import { errorText } from '../errors';

interface HeldRequest {
  run: () => void;
  /** Answers the request with an error when the start-up failed (connects and pings). */
  refuse: ((why: string) => void) | undefined;
}

export class EarlyRequests {
  private held: HeldRequest[] | undefined = [];
  private failure: string | undefined;

  constructor(private readonly limit: number) {}

  /**
   * Runs `run` at once when the core serves; before that holds it (with `refuse`, which
   * answers it if the start-up fails). After a failed start-up, `refuse` runs at once.
   */
  add(run: () => void, refuse?: (why: string) => void): void {
    if (this.failure !== undefined) {
      refuse?.(this.failure);
      return;
    }
    if (this.held === undefined) {
      run();
      return;
    }
    if (this.held.length < this.limit) this.held.push({ run, refuse });
  }

  /** True once the core serves (add() runs requests at once): callers may skip add() and its closure. */
  get serving(): boolean {
    return this.held === undefined && this.failure === undefined;
  }

  /** The core serves: run the held requests in arrival order, and every later one at once. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const r of held) r.run();
  }

  /** The start-up failed: answer the held connects and pings with `why`, drop the rest. */
  fail(why: string): void {
    if (this.failure !== undefined) return;
    this.failure = why;
    const held = this.held ?? [];
    this.held = undefined;
    for (const r of held) r.refuse?.(why);
  }
}

/** A ConnectResponse carrying only an error: the client's connect fails with this text. */
export function refuseConnect(nc: NatsTransport, reply: string | undefined, why: string): void {
  if (reply) nc.publish(reply, ConnectResponseCodec.encode({ error: why }));
}

/** A PingResponse carrying an error: the client closes its connection with this text. */
export function refusePing(nc: NatsTransport, reply: string | undefined, why: string): void {
  if (reply) nc.publish(reply, PingResponseCodec.encode({ error: why }));
}

/** What clients waiting for a connect are told when the server could not start. */
export function startupFailedReason(err: unknown): string {
  return `stan: the streaming server failed to start: ${errorText(err)}`;
}
