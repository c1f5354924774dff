/** The store contract suite (test/helpers/store-contract.ts) against PostgreSQL and MariaDB. */
import { storeContractSuite } from '../helpers/store-contract';
import { sqlUnderTest } from '../helpers/store-contract-sql';

storeContractSuite(sqlUnderTest('postgres'));
storeContractSuite(sqlUnderTest('mariadb'));
