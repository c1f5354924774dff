/**
 * The store contract suite (test/helpers/store-contract.ts) against the SQL store on SQLite,
 * its time searches with refused messages, and its time searches also on a database at schema 3 (the `(channel_id, ts)` index that
 * migration 0004 drops still there).
 */
import { storeContractSuite } from '../helpers/store-contract';
import { storeTimeSuite } from '../helpers/store-contract-time';
import { storeRefusalTimeSuite } from '../helpers/store-contract-refusals';
import { sqliteUnderTest } from '../helpers/store-contract-sql';

storeContractSuite(sqliteUnderTest());
storeTimeSuite(sqliteUnderTest());
storeTimeSuite(sqliteUnderTest(undefined, 3));
storeRefusalTimeSuite(sqliteUnderTest());
