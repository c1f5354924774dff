/** The store contract suite, and its time searches with refused messages, against the FILE store committing through its write thread (sqlite-writer.ts). */
import { storeContractSuite } from '../helpers/store-contract';
import { storeRefusalTimeSuite } from '../helpers/store-contract-refusals';
import { sqliteUnderTest } from '../helpers/store-contract-sql';
import { tsxSqliteWriter } from '../helpers/sqlite-writer';

storeContractSuite(sqliteUnderTest(tsxSqliteWriter));
storeRefusalTimeSuite(sqliteUnderTest(tsxSqliteWriter));
