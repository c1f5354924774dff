/**
 * The "client replaced through another NATS cluster member" scenario (issue 9, item 2), with
 * the real node-nats-streaming client, shared by the e2e test and the rate script
 * (scripts/cluster-replace-rate.ts):
 *
 *   sc1 connects through NATS node A; one second later A is stopped (SIGTERM) and sc1
 *   publishes; when sc1 sees its NATS disconnect, sc2 connects through node B with the same
 *   client ID. Expected: sc2 is accepted, sc1's publish fails with "client has been replaced
 *   or is no longer registered" and sc1 gets connection_lost with that message.
 */
import * as stanLib from 'node-nats-streaming';
import { sleep } from './proc';

export const REPLACED = 'client has been replaced or is no longer registered';

export interface ReplaceOutcome {
  /** sc2 got its ConnectResponse. */
  sc2Accepted: boolean;
  /** sc2's connect error, when refused or timed out. */
  sc2Error?: string;
  /** sc1's publish: the guid error text, 'ok', or undefined when no answer came in time. */
  pubResult?: string;
  /** sc1's connection_lost reason, if any came in time. */
  connectionLost?: string;
}

export interface ReplaceScenario {
  clusterID: string;
  clientID: string;
  /** NATS URLs of nodes A (sc1's) and B (sc2's). */
  urlA: string;
  urlB: string;
  /** Stops node A (SIGTERM); called once, without waiting for it before sc1 publishes. */
  stopA: () => Promise<void>;
  /** How long to wait for sc1's publish result and connection_lost after sc2's outcome. */
  settleMs?: number;
}

/** One run; all clients are closed before it returns. */
export async function runReplaceScenario(s: ReplaceScenario): Promise<ReplaceOutcome> {
  const out: ReplaceOutcome = { sc2Accepted: false };
  const sc1 = await stanConnect(s.urlA, s.clusterID, s.clientID, {
    stanPingInterval: 1000,
    stanMaxPingOut: 10,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
  });
  let sc2: stanLib.Stan | undefined;
  try {
    sc1.on('connection_lost', (e: unknown) => {
      out.connectionLost = e instanceof Error ? e.message : String(e);
    });
    sc1.on('error', () => undefined);
    const disconnected = new Promise<void>((resolve) => natsOf(sc1).once('disconnect', () => resolve()));
    await sleep(1000);
    const stopped = s.stopA();
    sc1.publish('replace.ch', 'after A died', (err) => {
      // The client fails pending publishes with the server's error text (a string).
      out.pubResult = err ? (err instanceof Error ? err.message : String(err)) : 'ok';
    });
    await disconnected;
    // The client's default connectTimeout (2 s), as a user would have it.
    try {
      sc2 = await stanConnect(s.urlB, s.clusterID, s.clientID, {});
      out.sc2Accepted = true;
    } catch (err) {
      out.sc2Error = err instanceof Error ? err.message : String(err);
    }
    await stopped;
    const deadline = Date.now() + (s.settleMs ?? 15000);
    while ((out.pubResult === undefined || out.connectionLost === undefined) && Date.now() < deadline) await sleep(50);
    return out;
  } finally {
    closeQuietly(sc1);
    if (sc2 !== undefined) closeQuietly(sc2);
  }
}

/** The client's underlying `nats` 1.x connection (its 'disconnect' event). */
function natsOf(sc: stanLib.Stan): NodeJS.EventEmitter {
  return (sc as unknown as { nc: NodeJS.EventEmitter }).nc;
}

function stanConnect(url: string, clusterID: string, clientID: string, extra: Partial<stanLib.StanOptions>): Promise<stanLib.Stan> {
  return new Promise((resolve, reject) => {
    const sc = stanLib.connect(clusterID, clientID, { url, ...extra } as stanLib.StanOptions);
    sc.once('error', (e: unknown) => {
      closeQuietly(sc);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
    sc.once('connect', () => resolve(sc));
  });
}

function closeQuietly(sc: stanLib.Stan): void {
  sc.on('error', () => undefined);
  try {
    sc.close();
  } catch {
    // already closed
  }
}
