/**
 * What every part of the STAN core shares: options, store, NATS, logger, clock, counters,
 * the partitioning routing, and the core's lifecycle. Built once by core.ts.
 */
import type { Logger } from '../logging/logger';
import type { NatsTransport } from '../nats/transport';
import type { StreamingOptions } from '../config/options';
import type { ServerInfo } from '../protocol/codec';
import type { Store } from '../store/contract';
import type { Clock } from './clock';
import type { ChannelPartition, ClientRegistry } from './partitioning';

export interface StanCoreStats {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
  /** Messages sent with redelivered=true. */
  redeliveries: number;
  /** Messages that reached max deliveries, by source channel (docs/dead-letters.md). */
  deadLettered: Map<string, number>;
}

export interface CoreContext {
  readonly opts: StreamingOptions;
  readonly store: Store;
  readonly nc: NatsTransport;
  readonly log: Logger;
  readonly clock: Clock;
  readonly stats: StanCoreStats;
  /** Partitioning (spec §7.2), set before serving: owned channels and the connect wait. */
  readonly routing: { partition?: ChannelPartition; registry?: ClientRegistry };
  /** The subjects we serve (recovered ones win over the configured ones). */
  info(): ServerInfo;
  /** True once shutdown() started: no new timers, no new work. */
  closed(): boolean;
  /** Registers a request being handled, so that shutdown lets it finish first. */
  track(p: Promise<void>): void;
  /** Publishes a reply when the request had a reply subject. */
  reply(subject: string | undefined, bytes: Uint8Array): void;
}
