/**
 * Whether this server takes mutating admin calls now and, when it does not, who does: the
 * holder of the election lease (FT: the active server's ID; clustered mode: the leader's
 * node ID), read through the injected lookup only when a mutating call is refused.
 */
import type { ServerOptions } from '../../config/options';
import type { Logger } from '../../logging/logger';
import { errorText } from '../../errors';
import type { ActiveServerLookup } from '../../ft/active-server';
import type { StreamingMonitorSource } from '../streaming';
import type { AdminRole } from './operations';

export function adminRole(
  options: ServerOptions,
  source: () => StreamingMonitorSource,
  activeServer: ActiveServerLookup | undefined,
  log: Logger,
): () => Promise<AdminRole> {
  return async () => {
    const src = source();
    const st = src.state;
    const clustered = st === 'CLUSTERED' || src.cluster !== undefined;
    // A cluster node takes mutating calls only while it is the leader.
    const active = st === 'STANDALONE' || st === 'FT_ACTIVE' || (st === 'CLUSTERED' && src.cluster?.role === 'Leader');
    const group = options.streaming.ftGroupName || (clustered ? options.streaming.clusterID : '');
    const role: AdminRole = { active, ...(group ? { group } : {}), ...(clustered ? { clustered } : {}) };
    if (active || activeServer === undefined) return role;
    try {
      const holder = await activeServer();
      // Our own ID: this server just won the lease and is recovering before it serves.
      const self = src.cluster?.nodeID ?? src.serverID;
      return { ...role, activeServer: holder ?? null, ...(holder === self ? { takingOver: true } : {}) };
    } catch (err) {
      log.warn(`admin: could not read the lease to name the active server: ${errorText(err)}`);
      return role;
    }
  };
}
