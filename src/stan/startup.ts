/**
 * The steps of a streaming server's start-up, in order, each returning what the next needs:
 *
 *   checkOptions → openStoreStep → connectNatsStep → startMonitorStep → ftStep → coreStep
 *
 * then streaming-server.ts serves (core.startServing, embedded NATS port) and says "ready".
 * What a step created is collected in `StartupParts`, so that a failed start-up releases
 * exactly that, in one place (releaseParts).
 */
import type { ServerOptions, StreamingOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import { RepeatedErrorLog } from '../logging/repeated-error';
import type { NatsTransport } from '../nats/transport';
import { CloseRequestCodec, ConnectRequestCodec, ConnectResponseCodec } from '../protocol/codec';
import type { Store } from '../store/contract';
import { openStore, type OpenStoreDeps } from '../store/open-store';
import { validateStoreLimits } from '../store/limits/limits';
import { validateDeadLetters } from './dead-letters/policy';
import { EmbeddedNatsServer } from '../nats/embedded';
import { connectInProcess } from '../nats/embedded';
import { redactURL } from '../nats/redact-url';
import { tlsRequired, validateServerTls } from '../nats/embedded';
import { StanCore } from './core';
import { checkSupported, externalOnlyWarnings } from './unsupported';
import { validateClustering } from '../cluster/validate';
import { validateClusterOptions } from '../cluster/runtime';
import { startPartitioning, validatePartitioning, type PartitionPeer } from './partitioning';
import type { FtController } from '../ft/controller';
import { becomeActive, gatedTransport, validateFtOptions, type FtStartOptions } from '../ft/setup';
import type { MonitorContext } from '../monitor';
import type { MonitorHttpServer } from '../monitor/http';
import { wantsChildNatsServer } from '../nats/child-config';
import type { ChildNatsServer } from '../nats/child-server';
import { startupFailedReason } from './early-requests';
import { assertPortFree } from '../nats/embedded';
import { errorText } from '../errors';

/** Version of the reference server whose behaviour we reproduce (reported to tools). */
export const STAN_VERSION = '0.25.6';
/** How long the start-up check waits for another server with our cluster ID (spec §1.5). */
const SINGLE_INSTANCE_CHECK_MS = 250;

/** Hides the password of `nats://user:pass@host` and the token of `nats://token@host` in logs. */
export const obfuscateURL = redactURL;

/** Everything a start-up created so far: released by releaseParts if it fails. */
export interface StartupParts {
  store?: Store;
  nats?: NatsParts;
  monitor?: MonitorHttpServer;
  ft?: FtController;
  core?: StanCore;
  partitions?: PartitionPeer;
  /** Clustered mode: the peers-list announcements (src/cluster/peers-gossip.ts). */
  gossip?: { close(): void };
}

export interface NatsParts {
  /** The core's NATS connection (in-process, external, or to the nats-server child). */
  nc: NatsTransport;
  /** The embedded NATS server; its client port opens only once the server serves. */
  server?: EmbeddedNatsServer;
  /** The nats-server child serving the embedded NATS role with cluster routes. */
  child?: ChildNatsServer;
}

/** Refuses options we cannot run with, before anything is opened. */
export function checkOptions(options: ServerOptions): { useChild: boolean } {
  const so = options.streaming;
  // Bad clustering combinations get their own message before "not supported yet".
  validateClustering(so);
  validatePartitioning(so);
  checkSupported(options);
  validateStoreLimits(so.storeLimits);
  validateDeadLetters(so.storeLimits);
  const useChild = wantsChildNatsServer(options);
  validateFtOptions(so, useChild);
  validateClusterOptions(options, useChild);
  validateServerTls(options.nats);
  return { useChild };
}

/** Opens the store; its repeated errors are logged once per incident. */
export async function openStoreStep(options: ServerOptions, log: Logger, deps: OpenStoreDeps = {}): Promise<Store> {
  const store = await openStore(options.streaming, log, deps);
  // A dead database is retried every 200 ms: one line per incident, not per retry.
  const storeErrors = new RepeatedErrorLog(log, 'Store error', 'Store');
  store.onError = (err) => storeErrors.error(err.message);
  store.onCommit = () => storeErrors.ok();
  warnIfStoreCannotTakeMaxPayload(store, options.nats.maxPayload, log);
  return store;
}

export interface NatsStepOptions {
  useChild: boolean;
  log: Logger;
  natsLog: Logger;
  /** The nats-server child died (it aborts a waiting start-up, later it stops the server). */
  onChildDied: (why: string) => void;
}

/**
 * NATS comes after the store: a start-up that fails there (database unreachable, schema
 * refused) never opened a client port. The embedded NATS opens its port even later, once
 * the server serves; the nats-server child (cluster routes) opens it here, so the store is
 * ready by then and the window until our subscriptions exist is only our connection to it.
 */
export async function connectNatsStep(options: ServerOptions, o: NatsStepOptions): Promise<NatsParts> {
  const so = options.streaming;
  const name = `_NSS-${so.clusterID}-general`;
  if (o.useChild) {
    const { startChildNatsAndConnect } = await import('../nats/child-server');
    const { child, nc } = await startChildNatsAndConnect(options, name, {
      log: o.natsLog,
      stanLog: o.log,
      // The child's monitor backs our /varz etc. on -m and on -ms alike.
      monitor: options.nats.httpPort !== 0 || options.nats.httpsPort !== 0,
      onUnexpectedExit: (why) => {
        o.log.error(why);
        o.onChildDied(why);
      },
    });
    return { nc, child };
  }
  if (so.natsServerURL) {
    const { connectExternal, externalConnectOptions } = await import('../nats/external');
    const urls = so.natsServerURL.split(',').map((u) => u.trim()).filter((u) => u !== '');
    // Credentials and TLS files are read and checked before connecting (clear errors).
    const extOpts = externalConnectOptions(options, name);
    o.log.notice(`Connecting to NATS Server at ${urls.map(obfuscateURL).join(',')}`);
    if (tlsRequired(options.nats)) o.log.warn('TLS server options configure the embedded NATS server, which does not run with -ns: they only serve -ms/--https_port here');
    // A second connection keeps connect requests served while the main one moves to
    // another member of the NATS cluster (nats/cluster-standby.ts).
    return { nc: await connectExternal(urls, extOpts, o.log, { clusterStandby: true }) };
  }
  for (const w of externalOnlyWarnings(options)) o.log.warn(w);
  // The client port opens only once the server serves: "the port accepts connections"
  // then means "STAN connects are answered". The core's own connection is in-process.
  const server = EmbeddedNatsServer.create(options.nats, o.natsLog);
  try {
    return { nc: await connectInProcess(server, name), server };
  } catch (err) {
    await server.close().catch(() => undefined);
    throw err;
  }
}

/** The HTTP monitor, when enabled; it listens before a possible FT standby wait. */
export async function startMonitorStep(options: ServerOptions, mctx: MonitorContext, log: Logger, version: string): Promise<MonitorHttpServer | undefined> {
  if (options.nats.httpPort === 0 && options.nats.httpsPort === 0) return undefined;
  // Loaded only when used (prom-client costs start-up time).
  const { startMonitor } = await import('../monitor');
  return startMonitor(mctx, log, version);
}

export interface FtStepOptions {
  serverID: string;
  log: Logger;
  signal: AbortSignal;
  onStandby?: () => void;
  onLease?: FtStartOptions['onLease'];
}

/**
 * FT: waits to become the active server. Everything the core sends then goes through the
 * gate: nothing leaves while this server is not sure it still holds the lease.
 */
export async function ftStep(so: StreamingOptions, store: Store, nc: NatsTransport, o: FtStepOptions): Promise<{ ft?: FtController; coreNc: NatsTransport }> {
  if (!so.ftGroupName) return { coreNc: nc };
  const ft = await becomeActive(so, store, o);
  return { ft, coreNc: gatedTransport(nc, ft) };
}

export interface CoreStepOptions {
  serverID: string;
  log: Logger;
  /** The embedded NATS server: nobody else can be connected before its port opens. */
  embedded: boolean;
  /** Partitioning found a channel conflict (during start-up or later). */
  onConflict: (err: Error) => void;
}

/**
 * Creates the core, joins the partitioning protocol, checks that no other server has our
 * cluster ID, listens early (requests are held) and applies the recovered state. Stores the
 * core and the partition peer in `parts` as soon as they exist.
 */
export async function coreStep(so: StreamingOptions, store: Store, nats: NatsParts, coreNc: NatsTransport, parts: StartupParts, o: CoreStepOptions): Promise<void> {
  const { log } = o;
  const core = new StanCore(so, store, coreNc, log);
  parts.core = core;
  if (so.partitioning) {
    parts.partitions = await startPartitioning(core, Object.keys(so.storeLimits.perChannel), {
      clusterID: so.clusterID,
      serverID: o.serverID,
      nc: coreNc,
      topologySource: nats.nc,
      log,
      onConflict: o.onConflict,
    });
  }
  // Another server with our cluster ID on the same NATS (spec §1.5). Checked before
  // listenEarly() subscribes our own discovery subject, which the probe would find. With
  // the embedded NATS nobody else can be connected yet: its port is not open.
  const checkInstance = !o.embedded && !so.partitioning && !so.ftGroupName && !so.clustering.clustered;
  const earlyDiscovery = core.info.Discovery;
  if (checkInstance) await checkSingleInstance(nats.nc, earlyDiscovery, so.clusterID);
  // Clients may connect, or reconnect, while the store recovers: hold their requests. The
  // flush makes sure an external NATS server has our subscriptions before we go on.
  core.listenEarly();
  await nats.nc.flush().catch(() => undefined);
  log.notice('Recovering the state...');
  const recovered = await store.recover();
  core.recover(recovered);
  if (recovered === null) log.notice('No recovered state');
  else log.notice(`Recovered ${recovered.channels.length} channel(s)`);
  // A store created with another discover prefix keeps its subject: check that one too.
  if (checkInstance && core.info.Discovery !== earlyDiscovery) await checkSingleInstance(nats.nc, core.info.Discovery, so.clusterID);
}

/** A failed start-up: stops and closes what it created, in dependency order. Never throws. */
export async function releaseParts(parts: StartupParts, failure: unknown): Promise<void> {
  parts.partitions?.close();
  parts.gossip?.close();
  // Clients whose connect arrived meanwhile (-ns, nats-server child) learn why at once.
  parts.core?.failEarly(startupFailedReason(failure));
  await parts.nats?.nc.flush().catch(() => undefined);
  // The core may already serve (timers, redeliveries): stop it before its store closes.
  await parts.core?.shutdown().catch(() => undefined);
  await parts.monitor?.close().catch(() => undefined);
  await parts.ft?.stop(true).catch(() => undefined);
  await parts.store?.close().catch(() => undefined);
  await parts.nats?.nc.close().catch(() => undefined);
  await parts.nats?.server?.close().catch(() => undefined);
  await parts.nats?.child?.close().catch(() => undefined);
}

/** Our client port (embedded NATS or the child's) opens late: a taken port is found first. */
export async function checkClientPortFree(options: ServerOptions): Promise<void> {
  if (!options.streaming.natsServerURL) await assertPortFree(options.nats.host, options.nats.port);
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
    throw new Error(`unmarshall error while detecting another server instance: ${errorText(err)}`);
  }
  // Our probe registered a client on the other server: remove it again.
  if (closeSubject) nc.publish(closeSubject, CloseRequestCodec.encode({ clientID: clusterID }));
  await nc.flush().catch(() => undefined);
  throw new Error(`discovered another streaming server with cluster ID "${clusterID}"`);
}
