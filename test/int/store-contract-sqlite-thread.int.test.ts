/** The store contract suite against the FILE store committing through its write thread (sqlite-writer.ts). */
import { storeContractSuite } from '../helpers/store-contract';
import { sqliteUnderTest } from '../helpers/store-contract-sql';
import { tsxSqliteWriter } from '../helpers/sqlite-writer';

storeContractSuite(sqliteUnderTest(tsxSqliteWriter));
