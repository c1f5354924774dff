/**
 * Start-up and shutdown of a whole streaming server: embedded (or external) NATS, store,
 * recovery, the single-instance check, then serving. Used by the CLI and the embedding API.
 */
import type { ServerOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import { silentLogger } from '../logging/logger';
import { RepeatedErrorLog } from '../logging/repeated-error';
import type { NatsTransport } from '../nats/transport';
import { CloseRequestCodec, ConnectRequestCodec, ConnectResponseCodec } from '../protocol/codec';
import type { Store } from '../store/types';
import { openStore } from '../store/open-store';
import { validateStoreLimits, formatLimitsTable } from '../store/limits';
import { EmbeddedNatsServer } from '../nats/embedded/server';
import { connectInProcess } from '../nats/embedded/inprocess';
import { redactURL } from '../nats/redact-url';
import { tlsRequired, validateServerTls } from '../nats/embedded/tls';
import { nuid } from '../nats/embedded/nuid';
import { StanCore, ServerState } from './core';
import { checkSupported, externalOnlyWarnings } from './unsupported';
import { reloadConfiguration } from './config-reload';
import { startPartitioning, validatePartitioning, type PartitionPeer } from './partitioning';
import { FtController } from '../ft/controller';
import { GatedTransport } from '../ft/gate';
import { becomeActive, validateFtOptions } from '../ft/setup';
import type { MonitorContext } from '../monitor';
import type { MonitorHttpServer } from '../monitor/http';
import { wantsChildNatsServer } from '../nats/child-config';
import type { ChildNatsServer } from '../nats/child-server';
import { startupFailedReason } from './early-requests';
import { assertPortFree } from '../nats/embedded/port-check';

/** Version of the reference server whose behaviour we reproduce (reported to tools). */
export const STAN_VERSION = '0.25.6';
/** How long the start-up check waits for another server with our cluster ID (spec §1.5). */
const SINGLE_INSTANCE_CHECK_MS = 250;

export interface StartOptions {
  natsLogger?: Logger;
  stanLogger?: Logger;
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
  state: ServerState = 'STANDALONE';
  readonly serverID = nuid();
  readonly startTime = new Date();

  /** FT: the lease controller while this server is the active one of its group. */
  ft: FtController | undefined;
  /** The HTTP monitor (`-m/--http_port`), when enabled. */
  monitor: MonitorHttpServer | undefined;
  /** The nats-server child serving the embedded NATS role with cluster routes (src/nats/child-server.ts). */
  natsChild: ChildNatsServer | undefined;
  /** Partitioning: this server's side of the channel-list protocol. */
  partitions: PartitionPeer | undefined;

  private constructor(
    readonly options: ServerOptions,
    readonly core: StanCore,
    readonly store: Store,
    readonly nc: NatsTransport,
    readonly natsServer: EmbeddedNatsServer | undefined,
    private readonly log: Logger,
  ) {}

  /** Client URL of the NATS server clients should use. */
  get natsURL(): string {
    if (this.natsChild) return this.natsChild.clientURL;
    if (this.natsServer) {
      const host = this.options.nats.host === '0.0.0.0' || this.options.nats.host === '' ? '127.0.0.1' : this.options.nats.host;
      return `nats://${host}:${this.natsServer.port}`;
    }
    return this.options.streaming.natsServerURL.split(',')[0];
  }

  static async start(options: ServerOptions, loggers: StartOptions = {}): Promise<StreamingServer> {
    const log = loggers.stanLogger ?? silentLogger;
    const natsLog = loggers.natsLogger ?? silentLogger;
    const so = options.streaming;
    validatePartitioning(so);
    checkSupported(options);
    validateStoreLimits(so.storeLimits);
    const useChild = wantsChildNatsServer(options);
    validateFtOptions(so, useChild);
    validateServerTls(options.nats);

    log.notice(`Starting nats-streaming-server[${so.clusterID}] version ${STAN_VERSION}`);
    const serverID = nuid();
    log.notice(`ServerID: ${serverID}`);
    log.notice(`Go version: node${process.versions.node}`);

    let natsServer: EmbeddedNatsServer | undefined;
    /** The NATS connection, once made (closed again by a failed start-up). */
    let natsConn: NatsTransport | undefined;
    let natsChild: ChildNatsServer | undefined;
    // The child dying aborts a start-up still waiting (FT standby), later it stops the server.
    const childDied = new AbortController();
    let onChildDied = (why: string): void => childDied.abort(new Error(why));
    /**
     * NATS comes after the store: a start-up that fails there (database unreachable, schema
     * refused) never opened a client port. The embedded NATS opens its port even later, once
     * the server serves (see below); the nats-server child (cluster routes) opens it here, so
     * the store is ready by then and the window until our subscriptions exist is only our
     * connection to it.
     */
    const connectNats = async (): Promise<NatsTransport> => {
      if (useChild) {
        const { startChildNatsAndConnect } = await import('../nats/child-server');
        let conn: NatsTransport;
        ({ child: natsChild, nc: conn } = await startChildNatsAndConnect(options, `_NSS-${so.clusterID}-general`, {
          log: natsLog,
          stanLog: log,
          // The child's monitor backs our /varz etc. on -m and on -ms alike.
          monitor: options.nats.httpPort !== 0 || options.nats.httpsPort !== 0,
          onUnexpectedExit: (why) => {
            log.error(why);
            onChildDied(why);
          },
        }));
        return conn;
      }
      if (so.natsServerURL) {
        const { connectExternal, externalConnectOptions } = await import('../nats/external');
        const urls = so.natsServerURL.split(',').map((u) => u.trim()).filter((u) => u !== '');
        // Credentials and TLS files are read and checked before connecting (clear errors).
        const extOpts = externalConnectOptions(options, `_NSS-${so.clusterID}-general`);
        log.notice(`Connecting to NATS Server at ${urls.map(obfuscateURL).join(',')}`);
        if (tlsRequired(options.nats)) log.warn('TLS server options configure the embedded NATS server, which does not run with -ns: they only serve -ms/--https_port here');
        // A second connection keeps connect requests served while the main one moves to
        // another member of the NATS cluster (nats/cluster-standby.ts).
        return connectExternal(urls, extOpts, log, { clusterStandby: true });
      }
      for (const w of externalOnlyWarnings(options)) log.warn(w);
      // The client port opens only once the server serves: "the port accepts connections"
      // then means "STAN connects are answered". The core's own connection is in-process.
      natsServer = EmbeddedNatsServer.create(options.nats, natsLog);
      return connectInProcess(natsServer, `_NSS-${so.clusterID}-general`);
    };
    // Our client port (embedded NATS or the child's) opens late: a port already taken is
    // still found before another server's store is touched.
    if (!so.natsServerURL) await assertPortFree(options.nats.host, options.nats.port);

    let store: Store | undefined;
    let ft: FtController | undefined;
    let monitor: MonitorHttpServer | undefined;
    let partitions: PartitionPeer | undefined;
    let started: StreamingServer | undefined;
    let startupConflict: Error | undefined;
    let core: StanCore | undefined;
    const startTime = new Date();
    const mctx: MonitorContext = {
      clusterID: so.clusterID,
      serverID,
      startTime,
      options,
      natsServer: undefined,
      natsMonitorURL: undefined,
      store: undefined,
      server: undefined,
      state: 'STANDALONE',
    };
    try {
      store = await openStore(so, log);
      // A dead database is retried every 200 ms: one line per incident, not per retry.
      const storeErrors = new RepeatedErrorLog(log, 'Store error', 'Store');
      store.onError = (err) => storeErrors.error(err.message);
      store.onCommit = () => storeErrors.ok();
      warnIfStoreCannotTakeMaxPayload(store, options.nats.maxPayload, log);
      mctx.store = store;
      const nc = await connectNats();
      natsConn = nc;
      mctx.natsServer = natsServer;
      mctx.natsMonitorURL = natsChild?.monitorURL;
      // Listen before a possible FT standby wait: isFTActive then answers 204 and readyz 503.
      if (options.nats.httpPort !== 0 || options.nats.httpsPort !== 0) {
        // Loaded only when used (prom-client costs start-up time).
        const { startMonitor } = await import('../monitor');
        monitor = await startMonitor(mctx, log, STAN_VERSION);
      }
      let coreNc = nc;
      if (so.ftGroupName) {
        mctx.state = 'FT_STANDBY';
        const signal = loggers.signal ? AbortSignal.any([loggers.signal, childDied.signal]) : childDied.signal;
        ft = await becomeActive(so, store, { serverID, log, signal, onStandby: loggers.onStandby });
        const ctl = ft;
        // Everything the core sends goes through the gate: nothing leaves while this server
        // is not sure it still holds the lease.
        coreNc = new GatedTransport(nc, () => ctl.surelyActive());
      }
      core = new StanCore(so, store, coreNc, log);
      if (so.partitioning) {
        partitions = await startPartitioning(core, Object.keys(so.storeLimits.perChannel), {
          clusterID: so.clusterID,
          serverID,
          nc: coreNc,
          topologySource: nc,
          log,
          // A re-check can find a conflict while we still recover: fail the start-up then.
          onConflict: (err) => {
            if (started !== undefined) started.fatal(`Partitioning error: ${err.message}`, loggers.onFatal);
            else startupConflict ??= err;
          },
        });
      }
      // Another server with our cluster ID on the same NATS (spec §1.5). Checked before
      // listenEarly() subscribes our own discovery subject, which the probe would find. With
      // the embedded NATS nobody else can be connected yet: its port is not open.
      const checkInstance = natsServer === undefined && !so.partitioning && !so.ftGroupName;
      const earlyDiscovery = core.info.Discovery;
      if (checkInstance) await checkSingleInstance(nc, earlyDiscovery, so.clusterID);
      // Clients may connect, or reconnect, while the store recovers: hold their requests. The
      // flush makes sure an external NATS server has our subscriptions before we go on.
      core.listenEarly();
      await nc.flush().catch(() => undefined);
      log.notice('Recovering the state...');
      const recovered = await store.recover();
      core.recover(recovered);
      if (recovered === null) log.notice('No recovered state');
      else log.notice(`Recovered ${recovered.channels.length} channel(s)`);
      // A store created with another discover prefix keeps its subject: check that one too.
      if (checkInstance && core.info.Discovery !== earlyDiscovery) await checkSingleInstance(nc, core.info.Discovery, so.clusterID);

      if (childDied.signal.aborted) throw childDied.signal.reason;
      if (startupConflict !== undefined) throw startupConflict;
      const server = new StreamingServer(options, core, store, nc, natsServer, log);
      server.natsChild = natsChild;
      onChildDied = (why) => void server.shutdown().finally(() => loggers.onFatal?.(why));
      (server as { serverID: string }).serverID = serverID;
      (server as { startTime: Date }).startTime = startTime;
      server.monitor = monitor;
      server.partitions = partitions;
      started = server;
      if (ft !== undefined) {
        server.state = 'FT_ACTIVE';
        log.notice('Server state is FT_ACTIVE');
        server.ft = ft;
        ft.onLost = (why) => server.stepDown(why, loggers.onStepDown);
      }
      core.startServing();
      await natsServer?.listen();
      // An external NATS client sends SUBs asynchronously: make sure the NATS server has
      // them before saying "ready", or a client's first connect request can go unanswered.
      // A reconnect in this window rejects the flush: the subscriptions are then re-sent by
      // the client library, so it is no reason to fail the start-up.
      await nc.flush().catch((err: unknown) => log.warn(`NATS flush after start-up failed (${err instanceof Error ? err.message : String(err)}); continuing`));
      ft?.startRenewing();
      log.notice(`Message store is ${store.type}`);
      for (const line of formatLimitsTable(so.storeLimits, options.explicit)) log.notice(line);
      log.notice('Streaming Server is ready');
      mctx.server = server;
      return server;
    } catch (err) {
      partitions?.close();
      // Clients whose connect arrived meanwhile (-ns, nats-server child) learn why at once.
      core?.failEarly(startupFailedReason(childDied.signal.aborted ? childDied.signal.reason : err));
      await natsConn?.flush().catch(() => undefined);
      // The core may already serve (timers, redeliveries): stop it before its store closes.
      await core?.shutdown().catch(() => undefined);
      await monitor?.close().catch(() => undefined);
      await ft?.stop(true).catch(() => undefined);
      await store?.close().catch(() => undefined);
      await natsConn?.close().catch(() => undefined);
      await natsServer?.close().catch(() => undefined);
      await natsChild?.close().catch(() => undefined);
      throw childDied.signal.aborted ? childDied.signal.reason : err;
    }
  }

  /**
   * FT: the lease is lost. Stop serving at once (the gate is already closed), say why in
   * one line, and let the owner decide (the CLI exits non-zero). Nothing is written: the
   * store's fence refuses every write from here on.
   */
  private stepDown(why: string, onStepDown: ((why: string) => void) | undefined): void {
    if (this.state !== 'FT_ACTIVE') return;
    this.state = 'FAILED';
    this.log.error(`ft: stepping down, this server is no longer the active one: ${why}`);
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
  private fatal(why: string, onFatal: ((why: string) => void) | undefined): void {
    if (this.state === 'FAILED' || this.state === 'SHUTDOWN') return;
    this.state = 'FAILED';
    this.log.fatal(why);
    void this.core.shutdown();
    onFatal?.(why);
  }

  private shuttingDown: Promise<void> | undefined;

  /** Graceful stop: no new work, pending commits finish, store closed, NATS closed. */
  shutdown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = (async () => {
        this.log.notice('Shutting down.');
        const failed = this.state === 'FAILED';
        this.state = failed ? 'FAILED' : 'SHUTDOWN';
        await this.monitor?.close();
        this.partitions?.close();
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
 * MySQL/MariaDB refuse statements above max_allowed_packet: messages the NATS server accepts
 * but the database cannot store get an error PubAck. Say so once, with the value to set.
 */
function warnIfStoreCannotTakeMaxPayload(store: Store, maxPayload: number, log: Logger): void {
  const max = store.maxMessageBytes;
  if (max === undefined || max >= maxPayload) return;
  // Inverse of SqlStore.maxMessageBytes plus room for the message envelope (subject, reply, ids).
  const needed = Math.ceil(((maxPayload + 4096) * 2 + 1024) / 0.8 / 1024) * 1024;
  log.warn(
    `The database accepts messages of at most ${max} bytes (MySQL/MariaDB max_allowed_packet), less than the NATS ` +
      `max_payload of ${maxPayload}: larger publishes get an error. Set max_allowed_packet to at least ${needed}.`,
  );
}

/** Hides the password of `nats://user:pass@host` and the token of `nats://token@host` in logs. */
export const obfuscateURL = redactURL;

/**
 * Refuses to start when another server already answers our discovery subject (spec §1.5):
 * two servers with one cluster ID on one NATS would both process every request.
 */
async function checkSingleInstance(nc: NatsTransport, discovery: string, clusterID: string): Promise<void> {
  const req = ConnectRequestCodec.encode({ clientID: clusterID, heartbeatInbox: nc.newInbox() });
  let reply: Uint8Array;
  try {
    reply = await nc.request(discovery, req, SINGLE_INSTANCE_CHECK_MS);
  } catch {
    return; // timeout or no responders: we are alone
  }
  let closeSubject: string;
  try {
    closeSubject = ConnectResponseCodec.decode(reply).closeRequests;
  } catch (err) {
    throw new Error(`unmarshall error while detecting another server instance: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Our probe registered a client on the other server: remove it again.
  if (closeSubject) nc.publish(closeSubject, CloseRequestCodec.encode({ clientID: clusterID }));
  await nc.flush().catch(() => undefined);
  throw new Error(`discovered another streaming server with cluster ID "${clusterID}"`);
}
