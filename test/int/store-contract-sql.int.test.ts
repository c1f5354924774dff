/**
 * The store contract suite (test/helpers/store-contract.ts) against PostgreSQL and MariaDB,
 * its time searches with refused messages, and its time searches also on databases at schema 3 (the `(channel_id, ts)` index that
 * migration 0004 drops still there, as where a DBA has not applied it).
 */
import { storeContractSuite } from '../helpers/store-contract';
import { storeTimeSuite } from '../helpers/store-contract-time';
import { storeRefusalTimeSuite } from '../helpers/store-contract-refusals';
import { sqlUnderTest } from '../helpers/store-contract-sql';

for (const kind of ['postgres', 'mariadb'] as const) {
  storeContractSuite(sqlUnderTest(kind));
  storeTimeSuite(sqlUnderTest(kind));
  storeTimeSuite(sqlUnderTest(kind, 3));
  storeRefusalTimeSuite(sqlUnderTest(kind));
}
