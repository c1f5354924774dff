/**
 * The bench command's parsed options and scenario shape, in their own module so that the
 * bench driver (bench.ts) and the persistence runs (persist.ts) share them without importing
 * each other.
 */
import type { SqlDriver, StoreKind } from './env';
import type { LoadgenKind } from './loadrun';

export interface Scenario {
  name: 'async' | 'async4' | 'pubsub' | 'sync';
  title: string;
  pubs: number;
  subs: number;
  sync: boolean;
}

export interface Options {
  store: StoreKind;
  sqlDriver: SqlDriver;
  sqlSource: string | null;
  runs: number;
  msgs: number;
  syncMsgs: number;
  size: number;
  scenarios: Scenario[];
  stanBench: string | null;
  loadgens: LoadgenKind[];
  mpa: number;
  warm: boolean;
  profileDir: string | null;
  /** --server-bin: another build's launcher (bin/nats-streaming-server.js), to alternate builds with one bench. */
  serverBin: string | null;
  serverArgs: string[];
  recovery: number;
  recoveryChannels: number;
  scale: boolean;
  scaleSubs: number;
  scaleChannels: number;
  soak: number;
  soakMaxMsgs: number;
  /** --catchup N: stored messages a new deliver-all subscriber replays (0 = scenario off). */
  catchup: number;
  /**
   * --catchup-client node|raw: the catch-up's subscriber. `node` (default): node-nats-streaming,
   * what a service runs. `raw`: a minimal client on nats.js (stan-raw.ts), lighter per message,
   * to see how far the server goes when the client is not what caps the figure. `loadgen`: the
   * load generator's subscriber on a raw socket (catchup-loadgen.ts), the lightest, which also
   * checks that every sequence 1..N arrived and counts redeliveries and duplicates.
   */
  catchupClient: 'node' | 'raw' | 'loadgen';
  /** --rss N: stored messages at which the server's RSS is measured (0 = scenario off). */
  rss: number;
  /** --node-arg ARG: extra node/V8 flags for the server under test (e.g. --max-semi-space-size=4). */
  nodeArgs: string[];
}
