/** The store contract suite (test/helpers/store-contract.ts) against the SQL store on SQLite. */
import { storeContractSuite } from '../helpers/store-contract';
import { sqliteUnderTest } from '../helpers/store-contract-sql';

storeContractSuite(sqliteUnderTest());
