/** The store contract suite (test/helpers/store-contract.ts, store-contract-time.ts) against the MEMORY store. */
import { MemoryStore } from '../../src/store/memory';
import { storeContractSuite, type StoreUnderTest } from '../helpers/store-contract';
import { storeTimeSuite } from '../helpers/store-contract-time';

const memory: StoreUnderTest = {
  name: 'MEMORY',
  persistent: false,
  capabilities: { fenced: false, commitObservable: false, healthChecked: false },
  fresh: () => Promise.resolve(),
  open: ({ limits, now }) => Promise.resolve(new MemoryStore(limits, { now })),
};
storeContractSuite(memory);
storeTimeSuite(memory);
