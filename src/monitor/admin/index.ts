/**
 * Wires the admin API (/admin/v1/) into the monitoring server. Only the read-only operations
 * exist for now; the mutating ones are added to {@link AdminOperations} once the STAN core
 * records them as events, and their routes appear with them.
 */
import type { ServerOptions } from '../../config/options';
import type { Logger } from '../../logging/logger';
import type { MonitorHttpServer } from '../http';
import type { StreamingMonitorSource } from '../streaming';
import { resolveAdminToken } from './auth';
import { MonitorReadOperations } from './context-ops';
import { ADMIN_PREFIX, createAdminHandler } from './handler';
import type { AdminRole } from './operations';

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
    const st = source().state;
    return { active: st === 'STANDALONE' || st === 'FT_ACTIVE' };
  };
  http.handlePrefix(`${ADMIN_PREFIX}/`, createAdminHandler({ auth, ops: new MonitorReadOperations(source), role, log, version }));
}
