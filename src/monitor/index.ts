/**
 * Starts the HTTP monitor of a streaming server: the reference's /streaming endpoints, the
 * embedded NATS's /varz, /connz, /subsz, /routez, and /healthz, /readyz.
 */
import type { Logger } from '../logging/logger';
import type { MonitorContext } from './context';
import { isHealthChecked } from '../store/contract';
import { httpsMonitorOptions } from '../nats/embedded';
import { MonitorHttpServer } from './http';
import { createMetricsRegistry, observeStoreCommits, registerMetricsRoute } from './metrics';
import { registerHealthRoutes, registerNatsRoutes } from './nats';
import { registerNatsProxyRoutes } from './nats-proxy';
import { registerStreamingRoutes, type StreamingMonitorSource } from './streaming';
import { registerAdminRoutes } from './admin';
import { registerConsoleRoutes } from './console';

export type { MonitorContext, MonitoredServer } from './context';

export function monitorSource(ctx: MonitorContext): StreamingMonitorSource {
  const srv = ctx.server;
  return {
    clusterID: ctx.clusterID,
    serverID: ctx.serverID,
    startTime: ctx.startTime,
    state: srv ? srv.state : ctx.state,
    cluster: ctx.cluster,
    core: srv?.core,
    store: ctx.store,
    limits: ctx.options.streaming.storeLimits,
    storeType: ctx.store?.type ?? ctx.options.streaming.storeType,
  };
}

/** Why the server does not serve clients now, or undefined when it does. */
export function notReadyReason(ctx: MonitorContext): string | undefined {
  if (ctx.store === undefined) return 'store not open';
  const srv = ctx.server;
  if (!srv) {
    if (ctx.state === 'CLUSTERED') return `clustered ${ctx.cluster?.role.toLowerCase() ?? 'node'}: not the leader`;
    return ctx.state === 'FT_STANDBY' ? 'FT standby: waiting to become the active server' : 'starting';
  }
  switch (srv.state) {
    case 'STANDALONE':
    case 'FT_ACTIVE':
    case 'CLUSTERED':
      return undefined;
    case 'FT_STANDBY':
      return 'FT standby: waiting to become the active server';
    case 'FAILED':
      return ctx.cluster !== undefined ? 'server failed: no longer the leader' : 'server failed: no longer the active FT server';
    case 'SHUTDOWN':
      return 'server shutting down';
  }
}

/** `version`: reported by /streaming/serverz (the reference version we reproduce). */
export async function startMonitor(ctx: MonitorContext, log: Logger, version: string): Promise<MonitorHttpServer> {
  const http = new MonitorHttpServer(log);
  registerNatsRoutes(http, ctx.natsServer, ctx.options.nats);
  if (ctx.natsMonitorURL !== undefined) registerNatsProxyRoutes(http, ctx.natsMonitorURL);
  registerStreamingRoutes(http, () => monitorSource(ctx), { version, go: `node${process.versions.node}` });
  registerHealthRoutes(http, async () => notReadyReason(ctx) ?? (isHealthChecked(ctx.store) ? await ctx.store.checkHealth() : undefined));
  const registry = createMetricsRegistry(ctx);
  observeStoreCommits(registry, ctx.store);
  registerMetricsRoute(http, registry);
  registerAdminRoutes(http, ctx.options, () => monitorSource(ctx), log, version, ctx.activeServer);
  registerConsoleRoutes(http);
  const n = ctx.options.nats;
  // -1: a random port (the reference's RANDOM_PORT). -m and -ms may both be given.
  try {
    if (n.httpPort !== 0) await http.listen(n.httpHost, n.httpPort < 0 ? 0 : n.httpPort);
    if (n.httpsPort !== 0) await http.listen(n.httpHost, n.httpsPort < 0 ? 0 : n.httpsPort, httpsMonitorOptions(n));
  } catch (err) {
    await http.close();
    throw err;
  }
  return http;
}
