/**
 * Wires the admin API (/admin/v1/) into the monitoring server: read-only operations from what
 * the monitor sees, mutating ones carried out (and recorded as events) by the STAN core.
 */
import type { ServerOptions } from '../../config/options';
import type { Logger } from '../../logging/logger';
import type { MonitorHttpServer } from '../http';
import type { StreamingMonitorSource } from '../streaming';
import { resolveAdminToken } from './auth';
import { MonitorReadOperations } from './context-ops';
import { CoreWriteOperations } from './core-write-ops';
import { ADMIN_PREFIX, createAdminHandler } from './handler';
import type { AdminOperations } from './operations';
import { adminRole } from './role';
import type { ActiveServerLookup } from '../../ft/active-server';

/** Client certificates count as admin credentials when the HTTPS monitor verifies them. */
export function adminClientCertificates(o: ServerOptions): boolean {
  return o.nats.httpsPort !== 0 && o.nats.tlsVerify && o.nats.tlsCaCert !== '';
}

export function registerAdminRoutes(
  http: MonitorHttpServer,
  options: ServerOptions,
  source: () => StreamingMonitorSource,
  log: Logger,
  version: string,
  /** FT or clustered mode: who holds the lease, named to callers of a standby or follower. */
  activeServer?: ActiveServerLookup,
): void {
  const auth = { token: resolveAdminToken(options.streaming), clientCertificates: adminClientCertificates(options) };
  const role = adminRole(options, source, activeServer, log);
  const read = new MonitorReadOperations(source);
  const write = new CoreWriteOperations(source);
  const ops: AdminOperations = {
    listClients: (i) => read.listClients(i),
    listMessages: (i) => read.listMessages(i),
    evictClient: (i) => write.evictClient(i),
    purgeChannel: (i) => write.purgeChannel(i),
    deleteChannel: (i) => write.deleteChannel(i),
    resetDurable: (i) => write.resetDurable(i),
    requeueMessage: (i) => write.requeueMessage(i),
  };
  http.handlePrefix(`${ADMIN_PREFIX}/`, createAdminHandler({ auth, ops, role, log, version }));
}
