/**
 * What the monitor knows about the server it watches, filled in during start-up. Its own
 * module (and MonitoredServer instead of StreamingServer) so that the monitor and the
 * streaming server that starts it do not import each other.
 */
import type { ServerOptions } from '../config/options';
import type { EmbeddedNatsServer } from '../nats/embedded';
import type { ServerState, StanCore } from '../stan/core';
import type { Store } from '../store/contract';
import type { ClusterMember } from '../cluster/runtime';
import type { ActiveServerLookup } from '../ft/active-server';

/** The running streaming server as the monitor reads it (StreamingServer implements it). */
export interface MonitoredServer {
  readonly state: ServerState;
  readonly core: StanCore;
}

/**
 * Filled in by StreamingServer.start as start-up progresses: the monitor listens once the
 * store is open, before an FT standby wait, and sees the server once it serves.
 */
export interface MonitorContext {
  clusterID: string;
  serverID: string;
  startTime: Date;
  options: ServerOptions;
  natsServer: EmbeddedNatsServer | undefined;
  /** The nats-server child's own monitor (NATS cluster options): /varz, /connz… are proxied to it. */
  natsMonitorURL?: string;
  store: Store | undefined;
  server: MonitoredServer | undefined;
  /** State before `server` exists (STANDALONE, or FT_STANDBY while waiting for the lease). */
  state: ServerState;
  /** Clustered mode: the node's ID and role (a follower has no `server` yet). */
  cluster?: ClusterMember;
  /** FT or clustered mode: who holds the lease (the admin API names it on a standby). */
  activeServer?: ActiveServerLookup;
}
