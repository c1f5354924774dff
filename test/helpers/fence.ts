/** An FT fence set on a store the way src/ft/setup.ts sets it, counting which way it ran. */
import type { Knex } from 'knex';
import type { Lease } from '../../src/ft/lease';
import type { FencedStore } from '../../src/store/contract';

export interface FenceCounts {
  /** Calls of the Knex fence (a write transaction through Knex). */
  knexFence: number;
  /** Fence statements that changed no row (the lease's error made). */
  lost: number;
}

export function setCountingFence(store: FencedStore, lease: Lease): FenceCounts {
  const counts: FenceCounts = { knexFence: 0, lost: 0 };
  store.setFence(
    async (tx) => {
      counts.knexFence++;
      await lease.fence(tx as Knex.Transaction);
    },
    { statement: () => lease.fenceStatement(), lost: () => (counts.lost++, lease.lostError()) },
  );
  return counts;
}
