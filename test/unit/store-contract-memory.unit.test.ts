/** The store contract suite (test/helpers/store-contract.ts) against the MEMORY store. */
import { MemoryStore } from '../../src/store/memory';
import { storeContractSuite } from '../helpers/store-contract';

storeContractSuite({
  name: 'MEMORY',
  persistent: false,
  capabilities: { fenced: false, commitObservable: false, healthChecked: false },
  fresh: () => Promise.resolve(),
  open: ({ limits, now }) => Promise.resolve(new MemoryStore(limits, { now })),
});
