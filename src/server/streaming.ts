/**
 * Start-up and shutdown of a whole streaming server: embedded (or external) NATS, store,
 * recovery, the single-instance check, then serving. Used by the CLI and the embedding API.
 */
import type { ServerOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import { silentLogger } from '../logging/logger';
import type { NatsTransport } from '../nats/transport';
import { CloseRequestCodec, ConnectRequestCodec, ConnectResponseCodec } from '../protocol/codec';
import type { Store } from '../store/types';
import { openStore } from '../store/open-store';
import { validateStoreLimits, formatLimitsTable } from '../store/limits';
import { EmbeddedNatsServer } from '../nats/embedded/server';
import { connectInProcess } from '../nats/embedded/inprocess';
import { tlsRequired, validateServerTls } from '../nats/embedded/tls';
import { nuid } from '../nats/embedded/nuid';
import { StanCore, ServerState } from './server';
import { checkSupported } from './unsupported';
import { FtController } from '../ft/controller';
import { GatedTransport } from '../ft/gate';
import { becomeActive, validateFtOptions } from '../ft/setup';
import { startMonitor, type MonitorContext } from '../monitor';
import type { MonitorHttpServer } from '../monitor/http';

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
}

export class StreamingServer {
  state: ServerState = 'STANDALONE';
  readonly serverID = nuid();
  readonly startTime = new Date();

  /** FT: the lease controller while this server is the active one of its group. */
  ft: FtController | undefined;
  /** The HTTP monitor (`-m/--http_port`), when enabled. */
  monitor: MonitorHttpServer | undefined;

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
    checkSupported(options);
    validateStoreLimits(so.storeLimits);
    validateFtOptions(so);
    validateServerTls(options.nats);

    log.notice(`Starting nats-streaming-server[${so.clusterID}] version ${STAN_VERSION}`);
    const serverID = nuid();
    log.notice(`ServerID: ${serverID}`);
    log.notice(`Go version: node${process.versions.node}`);

    let natsServer: EmbeddedNatsServer | undefined;
    let nc: NatsTransport;
    if (so.natsServerURL) {
      const { connectExternal } = await import('../nats/external');
      const urls = so.natsServerURL.split(',').map((u) => u.trim()).filter((u) => u !== '');
      log.notice(`Connecting to NATS Server at ${urls.map(obfuscateURL).join(',')}`);
      if (tlsRequired(options.nats)) log.warn('TLS server options configure the embedded NATS server, which does not run with -ns: they only serve -ms/--https_port here');
      nc = await connectExternal(urls, { name: `_NSS-${so.clusterID}-general` }, log);
    } else {
      natsServer = await EmbeddedNatsServer.start(options.nats, natsLog);
      nc = connectInProcess(natsServer, `_NSS-${so.clusterID}-general`);
    }

    let store: Store | undefined;
    let ft: FtController | undefined;
    let monitor: MonitorHttpServer | undefined;
    const startTime = new Date();
    const mctx: MonitorContext = {
      clusterID: so.clusterID,
      serverID,
      startTime,
      options,
      natsServer,
      store: undefined,
      server: undefined,
      state: 'STANDALONE',
    };
    try {
      store = await openStore(so, log);
      store.onError = (err) => log.error(`Store error: ${err.message}`);
      mctx.store = store;
      // Listen before a possible FT standby wait: isFTActive then answers 204 and readyz 503.
      if (options.nats.httpPort !== 0 || options.nats.httpsPort !== 0) monitor = await startMonitor(mctx, log, STAN_VERSION);
      let coreNc = nc;
      if (so.ftGroupName) {
        mctx.state = 'FT_STANDBY';
        ft = await becomeActive(so, store, { serverID, log, signal: loggers.signal, onStandby: loggers.onStandby });
        const ctl = ft;
        // Everything the core sends goes through the gate: nothing leaves while this server
        // is not sure it still holds the lease.
        coreNc = new GatedTransport(nc, () => ctl.surelyActive());
      }
      const core = new StanCore(so, store, coreNc, log);
      // Clients may reconnect while the store recovers: queue their publishes meanwhile.
      core.listenEarly();
      log.notice('Recovering the state...');
      const recovered = await store.recover();
      core.recover(recovered);
      if (recovered === null) log.notice('No recovered state');
      else log.notice(`Recovered ${recovered.channels.length} channel(s)`);

      if (!so.partitioning && !so.ftGroupName) await checkSingleInstance(nc, core.info.Discovery, so.clusterID);

      const server = new StreamingServer(options, core, store, nc, natsServer, log);
      (server as { serverID: string }).serverID = serverID;
      (server as { startTime: Date }).startTime = startTime;
      server.monitor = monitor;
      if (ft !== undefined) {
        server.state = 'FT_ACTIVE';
        log.notice('Server state is FT_ACTIVE');
        server.ft = ft;
        ft.onLost = (why) => server.stepDown(why, loggers.onStepDown);
      }
      core.startServing();
      ft?.startRenewing();
      log.notice(`Message store is ${store.type}`);
      for (const line of formatLimitsTable(so.storeLimits, options.explicit)) log.notice(line);
      log.notice('Streaming Server is ready');
      mctx.server = server;
      return server;
    } catch (err) {
      await monitor?.close().catch(() => undefined);
      await ft?.stop(true).catch(() => undefined);
      await store?.close().catch(() => undefined);
      await nc.close().catch(() => undefined);
      await natsServer?.close().catch(() => undefined);
      throw err;
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
    void this.core.shutdown();
    onStepDown?.(why);
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
        await this.core.shutdown();
        // A stepped-down server must not write (its fence would refuse anyway).
        if (this.state !== 'FAILED' || this.ft === undefined) await this.store.close();
        await this.ft?.stop(true);
        await this.nc.close();
        await this.natsServer?.close();
      })();
    }
    return this.shuttingDown;
  }
}

/** Hides the password of `nats://user:pass@host` URLs in logs. */
export function obfuscateURL(u: string): string {
  return u.replace(/(\/\/[^:/@]+:)[^@/]*@/, '$1[REDACTED]@');
}

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
