/**
 * FT start-up: validates the FT options, opens the lease on its own connection, waits as a
 * standby until this server holds the lease, and installs the store's fence.
 */
import type { StreamingOptions } from '../config/options';
import type { Knex } from 'knex';
import type { Logger } from '../logging/logger';
import { isFencedStore, isLogFollowingStore, type Store } from '../store/contract';
import type { SqlDriver } from '../store/sql/dsn';
import { FtController } from './controller';
import { GatedTransport } from './gate';
import type { NatsTransport } from '../nats/transport';
import { Lease, LeaseLostError, validateGroupName } from './lease';
import { StanServerError, errorText } from '../errors';

export class FtConfigError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'FtConfigError';
  }
}

/** Checks done before anything is started (spec §4 start-up errors, issue 4). */
export function validateFtOptions(so: StreamingOptions, natsRoutes = false): void {
  if (!so.ftGroupName) return;
  validateGroupName(so.ftGroupName);
  if (so.storeType === 'MEMORY') throw new FtConfigError('ft: only FILE or SQL stores supported in FT mode');
  if (!so.natsServerURL && !natsRoutes) {
    // Both servers must share one NATS: an external one, or their own NATS servers routed
    // together (`natsRoutes`: the NATS cluster options are given, see src/nats/child-server.ts).
    throw new FtConfigError(
      'ft: the servers of an FT group must share one NATS: connect them to a NATS server with -ns, ' +
        'or route their NATS servers together with --cluster and --routes',
    );
  }
  if (so.ftLeaseRenew >= so.ftLeaseTTL) {
    throw new FtConfigError(`ft: --ft_lease_renew (${so.ftLeaseRenew}ms) must be shorter than --ft_lease_ttl (${so.ftLeaseTTL}ms)`);
  }
}

export interface FtStartOptions {
  serverID: string;
  log: Logger;
  /** Aborts the standby wait (shutdown requested before this server became active). */
  signal?: AbortSignal;
  /** Called when the server becomes the standby (it is waiting for the lease). */
  onStandby?: () => void;
  /** Called once the lease is open (before the standby wait): who holds it can be read from then on. */
  onLease?: (lease: Lease) => void;
  /**
   * Clustered mode: the election group is the cluster ID, the lease owner the node ID
   * (`serverID`), and the log lines speak of leader and follower instead of FT.
   */
  cluster?: {
    /** Builds the check run after every attempt that found the lease held by another node. */
    standbyCheck: (lease: Lease) => () => Promise<void>;
  };
}

/** The election's log lines: FT (`--ft_group`) or clustered mode. */
function electionLines(group: string, clustered: boolean): { waiting: string[]; active: (epoch: number) => string } {
  if (clustered) {
    return {
      waiting: [`clustering: following the leader of cluster "${group}" (waiting for the lease)`, 'Server state is CLUSTERED (Follower)'],
      active: (epoch) => `clustering: this node is now the leader (cluster "${group}", epoch ${epoch})`,
    };
  }
  return {
    waiting: [`ft: starting in standby mode (group "${group}")`, 'Server state is FT_STANDBY'],
    active: (epoch) => `ft: this server is now active (group "${group}", epoch ${epoch})`,
  };
}

/**
 * How often a waiting server reads the event log: half the lease duration (750 ms with the
 * default 1.5 s), clamped to 100 ms–2 s. A crashed leader's lease runs for the whole TTL after
 * its last renewal, so a follower polling at TTL/2 has read (nearly) all the leader wrote
 * before it can take over, and the takeover replays next to nothing; a clean hand-over
 * (lease released) replays at most one interval of writes. Each poll is two indexed queries
 * (events above the position, the newest snapshot's mark), cheap even at this pace; a
 * separate option would be one more knob for no gain.
 */
export function followIntervalMs(ttlMs: number): number {
  return Math.max(100, Math.min(2000, Math.round(ttlMs / 2)));
}

/**
 * Returns once this server is the active one, with the store fenced by the lease and the
 * lease being renewed. The caller then recovers the store and starts serving; it sets
 * `ctl.onLost` (a loss during the start-up must fail it, a later one stops serving).
 *
 * Renewing starts here, not once serving: recovering a large store or the partitioning
 * channel check (1 s) can outlast the lease, which then expired under a starting active (a
 * standby took over mid-recovery), and at best the send gate was closed when the server said
 * it was ready (the first renewal came a renewal interval after "ready").
 */
export async function becomeActive(so: StreamingOptions, store: Store, o: FtStartOptions): Promise<FtController> {
  const { openLeaseKnex } = await import('../store/sql/open');
  const spec =
    so.storeType === 'FILE'
      ? ({ kind: 'sqlite', dir: so.filestoreDir } as const)
      : ({ kind: 'sql', driver: so.sql.driver as SqlDriver, source: so.sql.source } as const);
  const timeout = Math.max(100, Math.min(1000, so.ftLeaseTTL / 2));
  const { knex, dialect } = await openLeaseKnex(spec, timeout);
  try {
    await knex('stan_lease').select('group_name').limit(1);
  } catch (err) {
    await knex.destroy();
    throw new FtConfigError(
      `ft: the lease table stan_lease is missing (${errorText(err)}): ` +
        `apply migration 0002_ft_lease (nats-streaming-server migrate, or sql/${dialect}/0002_ft_lease.sql)`,
    );
  }
  const group = o.cluster !== undefined ? so.clusterID : so.ftGroupName;
  const lines = electionLines(group, o.cluster !== undefined);
  const lease = new Lease(knex, dialect, { group, owner: o.serverID, ttlMs: so.ftLeaseTTL });
  await lease.init().catch(() => undefined);
  o.onLease?.(lease);
  const ctl = new FtController(lease, { ttlMs: so.ftLeaseTTL, renewMs: so.ftLeaseRenew, pollMs: so.ftLeasePoll }, o.log);
  ctl.standbyCheck = o.cluster?.standbyCheck(lease);
  const onAbort = (): void => void ctl.stop(false);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  for (const line of lines.waiting) o.log.notice(line);
  o.onStandby?.();
  if (isLogFollowingStore(store)) {
    const prefix = o.cluster !== undefined ? 'clustering: ' : 'ft: ';
    store.followLog({ intervalMs: followIntervalMs(so.ftLeaseTTL), report: { notice: (l) => o.log.notice(prefix + l), warn: (l) => o.log.warn(prefix + l) } });
  }
  let epoch: number;
  try {
    epoch = await ctl.waitUntilActive();
  } catch (err) {
    await ctl.stop(false).catch(() => undefined);
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  o.log.notice(lines.active(epoch));
  if (!isFencedStore(store)) throw new FtConfigError('ft: only FILE or SQL stores supported in FT mode');
  store.setFence(async (tx) => {
    try {
      // SQL stores hand their Knex transaction to the fence (FencedStore).
      await lease.fence(tx as Knex.Transaction);
    } catch (err) {
      // Close the send gate before the failed commit turns into (error) PubAcks.
      if (err instanceof LeaseLostError) ctl.fenceFailed(err);
      throw err;
    }
  }, {
    // The same UPDATE as text: the FILE store's write thread runs it on its own connection,
    // the SQL stores' group commits in their direct transactions (direct-tx.ts).
    statement: () => lease.fenceStatement(),
    lost: () => {
      const err = lease.lostError();
      ctl.fenceFailed(err);
      return err;
    },
  });
  ctl.startRenewing();
  return ctl;
}

/**
 * The transport the STAN core of an FT (or clustered) server uses: sends only while this
 * server is surely active, and holds incoming requests until the next renewal otherwise.
 */
export function gatedTransport(nc: NatsTransport, ctl: FtController): GatedTransport {
  const gate = new GatedTransport(nc, () => ctl.surelyActive());
  ctl.onRenewed = () => gate.release();
  return gate;
}
