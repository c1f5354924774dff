/** The load generator's command line (stan-bench compatible subset). */

export const STAN_BENCH_DEFAULT_MPA = 512;
export const GO_CLIENT_DEFAULT_MPA = 16384;
export interface LoadOptions {
  url: string;
  clusterID: string;
  clientID: string;
  subject: string;
  pubs: number;
  subs: number;
  msgs: number;
  size: number;
  sync: boolean;
  maxPubAcksInFlight: number;
  /** Give up (and report an error) after this long. */
  timeoutMs: number;
}

export function parseArgs(argv: string[]): LoadOptions & { json: boolean } {
  // Kept whole (~85 lines): a flat flag switch mirroring stan-bench's flags, one case per flag.
  const o: LoadOptions & { json: boolean } = {
    url: 'nats://127.0.0.1:4222',
    clusterID: 'test-cluster',
    clientID: 'benchmark',
    subject: '',
    pubs: 10,
    subs: 0,
    msgs: 100000,
    size: 128,
    sync: false,
    maxPubAcksInFlight: STAN_BENCH_DEFAULT_MPA,
    timeoutMs: 300_000,
    json: false,
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    if (!raw.startsWith('-')) {
      positional.push(raw);
      continue;
    }
    const eq = raw.indexOf('=');
    const name = raw.replace(/^--?/, '').split('=')[0];
    const value = (): string => {
      if (eq >= 0) return raw.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`flag needs an argument: ${raw}`);
      return v;
    };
    const int = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`invalid value "${v}" for flag ${raw}`);
      return n;
    };
    switch (name) {
      case 's':
        o.url = value();
        break;
      case 'c':
      case 'cluster':
        o.clusterID = value();
        break;
      case 'id':
        o.clientID = value();
        break;
      case 'np':
        o.pubs = int();
        break;
      case 'ns':
        o.subs = int();
        break;
      case 'n':
        o.msgs = int();
        break;
      case 'ms':
        o.size = int();
        break;
      case 'mpa':
        o.maxPubAcksInFlight = Math.max(1, int());
        break;
      case 'sync':
        o.sync = eq < 0 || raw.slice(eq + 1) !== 'false';
        break;
      case 'timeout':
        o.timeoutMs = int() * 1000;
        break;
      case 'json':
        o.json = true;
        break;
      default:
        throw new Error(`flag provided but not defined: ${raw}`);
    }
  }
  if (positional.length !== 1) {
    throw new Error(
      'Usage: loadgen [-s server (nats://127.0.0.1:4222)] [-c CLUSTER_ID] [-id CLIENT_ID] [-np NUM_PUBLISHERS] ' +
        '[-ns NUM_SUBSCRIBERS] [-n NUM_MSGS] [-ms MESSAGE_SIZE] [-mpa MAX_NUMBER_OF_PUBLISHED_ACKS_INFLIGHT] [-sync] ' +
        '[-timeout SECS] [--json] <subject>',
    );
  }
  o.subject = positional[0];
  return o;
}
