/**
 * A whole streaming server: embedded (or external) NATS, store, FT, monitor and the STAN
 * core, started as the named steps of ./startup.ts; FT step-down, configuration reload and
 * shutdown. Used by the CLI and the embedding API.
 */
import type { ServerOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import { silentLogger } from '../logging/logger';
import type { NatsTransport } from '../nats/transport';
import type { Store } from '../store/contract';
import { formatLimitsTable } from '../store/limits/limits';
import { formatDeadLetterTable } from './dead-letters/policy';
import type { EmbeddedNatsServer } from '../nats/embedded';
import { nuid } from '../nats/embedded';
import type { StanCore, ServerState } from './core';
import { reloadConfiguration } from './config-reload';
import type { PartitionPeer } from './partitioning';
import type { FtController } from '../ft/controller';
import { ActiveServerSource } from '../ft/active-server';
import { LeaseLostError, type Lease } from '../ft/lease';
import type { MonitorContext } from '../monitor';
import type { MonitorHttpServer } from '../monitor/http';
import type { ChildNatsServer } from '../nats/child-server';
import { errorText } from '../errors';
import type { SealWorkerSpawner } from '../store/seal-pool';
import type { SqliteWriterSpawner } from '../store/sql/sqlite-writer';
import { clusterMember, clusterStep, startClusterGossip, type ClusterMember } from '../cluster/runtime';
import { startStoreConnection } from '../store/early-connection';
import {
  checkClientPortFree,
  checkOptions,
  connectNatsStep,
  coreStep,
  ftStep,
  openStoreStep,
  releaseParts,
  startMonitorStep,
  STAN_VERSION,
  type NatsParts,
  type StartupParts,
} from './startup';

export { STAN_VERSION, obfuscateURL } from './startup';

export interface StartOptions {
  natsLogger?: Logger;
  stanLogger?: Logger;
  /** Starts the store's encryption worker threads (default: the compiled worker file). */
  spawnSealWorker?: SealWorkerSpawner;
  /** Starts the FILE store's write thread (default: the compiled worker file when present). */
  spawnSqliteWriter?: SqliteWriterSpawner;
  /** Aborts a start-up that is waiting (FT standby) when a shutdown is requested. */
  signal?: AbortSignal;
  /**
   * FT: called when this server lost the lease and stepped down (it no longer serves).
   * The CLI exits non-zero; embedders decide. Default: nothing more.
   */
  onStepDown?: (why: string) => void;
  /** FT: called when the server enters standby (waiting for the lease). */
  onStandby?: () => void;
  /**
   * Called when the server stopped because what it runs on failed (the nats-server child of
   * the NATS cluster options died; partitioning: a channel conflict found after a NATS
   * topology change). It has stopped serving. The CLI exits non-zero.
   */
  onFatal?: (why: string) => void;
}

export class StreamingServer {
  state: ServerState;
  ft: FtController | undefined;
  /** Clustered mode: this node's ID and role. */
  cluster: ClusterMember | undefined;
  /** Clustered mode: the peers-list announcements, stopped at shutdown. */
  gossip: { close(): void } | undefined;
  private shuttingDown: Promise<void> | undefined;

  private constructor(
    readonly options: ServerOptions,
    readonly serverID: string,
    readonly startTime: Date,
    readonly core: StanCore,
    readonly store: Store,
    private readonly nats: NatsParts,
    /** The HTTP monitor (`-m/--http_port`), when enabled. */
    readonly monitor: MonitorHttpServer | undefined,
    /** Partitioning: this server's side of the channel-list protocol. */
    readonly partitions: PartitionPeer | undefined,
    /** FT: the lease controller while this server is the active one of its group. */
    ft: FtController | undefined,
    private readonly log: Logger,
  ) {
    this.ft = ft;
    this.state = ft !== undefined ? 'FT_ACTIVE' : 'STANDALONE';
  }

  get nc(): NatsTransport {
    return this.nats.nc;
  }

  get natsServer(): EmbeddedNatsServer | undefined {
    return this.nats.server;
  }

  /** The nats-server child serving the embedded NATS role with cluster routes (src/nats/child-server.ts). */
  get natsChild(): ChildNatsServer | undefined {
    return this.nats.child;
  }

  /** Client URL of the NATS server clients should use. */
  get natsURL(): string {
    if (this.natsChild) return this.natsChild.clientURL;
    if (this.natsServer) {
      const host = this.options.nats.host === '0.0.0.0' || this.options.nats.host === '' ? '127.0.0.1' : this.options.nats.host;
      return `nats://${host}:${this.natsServer.port}`;
    }
    return this.options.streaming.natsServerURL.split(',')[0];
  }

  /**
   * Starts a server: the steps of ./startup.ts in order, then serving. A failure at any
   * step releases what the earlier steps created and rethrows.
   */
  static async start(options: ServerOptions, loggers: StartOptions = {}): Promise<StreamingServer> {
    const log = loggers.stanLogger ?? silentLogger;
    const so = options.streaming;
    const { useChild } = checkOptions(options);
    log.notice(`Starting nats-streaming-server[${so.clusterID}] version ${STAN_VERSION}`);
    const serverID = nuid();
    log.notice(`ServerID: ${serverID}`);
    log.notice(`Go version: node${process.versions.node}`);
    const member = so.clustering.clustered ? clusterMember(options, log, nuid) : undefined;
    // The database sets its connection up while the steps before the store run (early-connection.ts).
    const connection = startStoreConnection(so);
    await checkClientPortFree(options).catch(async (err: unknown) => {
      await connection?.release();
      throw err;
    });

    // The child dying aborts a start-up still waiting (FT standby), later it stops the server.
    const childDied = new AbortController();
    const lifecycle = new StartupLifecycle(childDied, loggers.onFatal);
    const parts: StartupParts = {};
    const startTime = new Date();
    try {
      const store = (parts.store = await openStoreStep(options, log, { spawnSealWorker: loggers.spawnSealWorker, spawnSqliteWriter: loggers.spawnSqliteWriter, connection }));
      const nats = (parts.nats = await connectNatsStep(options, {
        useChild,
        log,
        natsLog: loggers.natsLogger ?? silentLogger,
        onChildDied: (why) => lifecycle.childDied(why),
      }));
      if (member !== undefined) {
        // Followers announce too: a wrong peers list shows before the node ever leads.
        parts.gossip = startClusterGossip(nats.nc, so.clusterID, member, { serverID, startMs: startTime.getTime() }, log);
      }
      // The lease opens in the election step, after the monitor listens: attached then.
      const leaseHolder = member !== undefined || so.ftGroupName ? new ActiveServerSource() : undefined;
      const mctx: MonitorContext = {
        clusterID: so.clusterID,
        serverID,
        startTime,
        options,
        natsServer: nats.server,
        natsMonitorURL: nats.child?.monitorURL,
        store,
        server: undefined,
        state: member !== undefined ? 'CLUSTERED' : so.ftGroupName ? 'FT_STANDBY' : 'STANDALONE',
        cluster: member,
        activeServer: leaseHolder?.lookup,
      };
      parts.monitor = await startMonitorStep(options, mctx, log, STAN_VERSION);
      const signal = loggers.signal ? AbortSignal.any([loggers.signal, childDied.signal]) : childDied.signal;
      const onLease = leaseHolder && ((lease: Lease): void => leaseHolder.attach(() => lease.holder()));
      const electionOpts = { serverID, log, signal, onStandby: loggers.onStandby, onLease };
      const { ft, coreNc } = member !== undefined ? await clusterStep(options, member, store, nats.nc, electionOpts) : await ftStep(so, store, nats.nc, electionOpts);
      parts.ft = ft;
      // The lease is renewed from here on; losing it before we serve fails the start-up.
      if (ft !== undefined) ft.onLost = (why) => lifecycle.leaseLost(why);
      await coreStep(so, store, nats, coreNc, parts, {
        serverID,
        log,
        embedded: nats.server !== undefined,
        // A re-check can find a conflict while we still recover: fail the start-up then.
        onConflict: (err) => lifecycle.conflict(err),
      });
      lifecycle.throwIfFailed();
      const core = parts.core as StanCore;
      const server = new StreamingServer(options, serverID, startTime, core, store, nats, parts.monitor, parts.partitions, ft, log);
      server.cluster = member;
      server.gossip = parts.gossip;
      if (member !== undefined) server.state = 'CLUSTERED';
      lifecycle.started(server);
      await server.serve(loggers.onStepDown);
      mctx.server = server;
      return server;
    } catch (err) {
      // The store step did not take the connection (a failure before it): close it.
      await connection?.release();
      const failure = lifecycle.failure(err);
      await releaseParts(parts, failure);
      throw failure;
    }
  }

  /** Serves clients: heartbeats and held requests start, the client port opens, "ready". */
  private async serve(onStepDown: ((why: string) => void) | undefined): Promise<void> {
    const { log, ft } = this;
    if (this.cluster !== undefined) {
      this.cluster.role = 'Leader';
      log.notice('Server state is CLUSTERED (Leader)');
    } else if (ft !== undefined) log.notice('Server state is FT_ACTIVE');
    if (ft !== undefined) {
      ft.onLost = (why) => this.stepDown(why, onStepDown);
    }
    this.core.startServing();
    await this.natsServer?.listen();
    // An external NATS client sends SUBs asynchronously: make sure the NATS server has
    // them before saying "ready", or a client's first connect request can go unanswered.
    // A reconnect in this window rejects the flush: the subscriptions are then re-sent by
    // the client library, so it is no reason to fail the start-up.
    await this.nc.flush().catch((err: unknown) => log.warn(`NATS flush after start-up failed (${errorText(err)}); continuing`));
    log.notice(`Message store is ${this.store.type}`);
    for (const line of formatLimitsTable(this.options.streaming.storeLimits, this.options.explicit)) log.notice(line);
    for (const line of formatDeadLetterTable(this.options.streaming.storeLimits)) log.notice(line);
    log.notice('Streaming Server is ready');
  }

  /**
   * FT: the lease is lost. Stop serving at once (the gate is already closed), say why in
   * one line, and let the owner decide (the CLI exits non-zero). Nothing is written: the
   * store's fence refuses every write from here on.
   */
  private stepDown(why: string, onStepDown: ((why: string) => void) | undefined): void {
    if (this.state !== 'FT_ACTIVE' && this.state !== 'CLUSTERED') return;
    this.state = 'FAILED';
    if (this.cluster !== undefined) {
      this.cluster.role = 'Candidate';
      this.log.error(`clustering: stepping down, this node is no longer the leader: ${why}`);
    } else this.log.error(`ft: stepping down, this server is no longer the active one: ${why}`);
    this.log.notice('Server state is FAILED');
    this.partitions?.close();
    void this.core.shutdown();
    onStepDown?.(why);
  }

  /**
   * Configuration reload (SIGHUP): applies what the embedded NATS server can change at
   * runtime and warns about the rest (see ./reload.ts). Never throws.
   */
  reloadNats(next: ServerOptions): Promise<void> {
    return reloadConfiguration(this.options, next, this.natsServer, this.log, this.natsChild);
  }

  /** Stops serving after an error found while running (see StartOptions.onFatal). */
  fatal(why: string, onFatal: ((why: string) => void) | undefined): void {
    if (this.state === 'FAILED' || this.state === 'SHUTDOWN') return;
    this.state = 'FAILED';
    this.log.fatal(why);
    void this.core.shutdown();
    onFatal?.(why);
  }

  /** Graceful stop: no new work, pending commits finish, store closed, NATS closed. */
  shutdown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = (async () => {
        this.log.notice('Shutting down.');
        const failed = this.state === 'FAILED';
        this.state = failed ? 'FAILED' : 'SHUTDOWN';
        await this.monitor?.close();
        this.partitions?.close();
        this.gossip?.close();
        await this.core.shutdown();
        // A stepped-down server must not write (its fence would refuse anyway).
        if (this.state !== 'FAILED' || this.ft === undefined) await this.store.close();
        await this.ft?.stop(true);
        await this.nc.close();
        await this.natsServer?.close();
        await this.natsChild?.close();
      })();
    }
    return this.shuttingDown;
  }
}

/**
 * What can end a start-up from outside its steps: the nats-server child dying, or a
 * partitioning conflict found by a re-check. Once the server is started, both stop it.
 */
class StartupLifecycle {
  private server: StreamingServer | undefined;
  private startFailure: Error | undefined;

  constructor(
    private readonly died: AbortController,
    private readonly onFatal: ((why: string) => void) | undefined,
  ) {}

  started(server: StreamingServer): void {
    this.server = server;
  }

  childDied(why: string): void {
    if (this.server === undefined) this.died.abort(new Error(why));
    else void this.server.shutdown().finally(() => this.onFatal?.(why));
  }

  conflict(err: Error): void {
    if (this.server !== undefined) this.server.fatal(`Partitioning error: ${err.message}`, this.onFatal);
    else this.startFailure ??= err;
  }

  /** FT/clustering: the lease was lost while the server was still starting. */
  leaseLost(why: string): void {
    this.startFailure ??= new LeaseLostError(`the lease was lost while starting (another server serves now): ${why}`);
  }

  /** Before serving: a child that died, a conflict or a lease lost meanwhile fails the start-up. */
  throwIfFailed(): void {
    if (this.died.signal.aborted) throw this.died.signal.reason;
    if (this.startFailure !== undefined) throw this.startFailure;
  }

  /** What the failed start-up reports: the child's death wins over its consequences. */
  failure(err: unknown): unknown {
    return this.died.signal.aborted ? this.died.signal.reason : err;
  }
}
