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
import type { AdminOperations, AdminRole } from './operations';

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
): void {
  const auth = { token: resolveAdminToken(options.streaming), clientCertificates: adminClientCertificates(options) };
  const role = (): AdminRole => {
    const src = source();
    const st = src.state;
    // The standby does not know the active server's address: it names the FT group (or, in
    // clustered mode, the cluster) whose active member takes the call (the lease only holds
    // the owner's ID). A cluster node takes mutating calls only while it is the leader.
    const group = options.streaming.ftGroupName || (st === 'CLUSTERED' ? options.streaming.clusterID : '');
    const active = st === 'STANDALONE' || st === 'FT_ACTIVE' || (st === 'CLUSTERED' && src.cluster?.role === 'Leader');
    return { active, ...(group ? { group } : {}) };
  };
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
