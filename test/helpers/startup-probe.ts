/**
 * Start-up probes: what a wait-for-port script followed by an eager client does. The port is
 * polled with plain TCP connects; the first connect that is accepted is kept and used as the
 * NATS connection (nothing can come earlier), and a STAN connect request is written over it
 * as the Go client sends it (CONNECT with headers and no_responders, then a request on the
 * discovery subject). Shared by test/e2e/startup-window.e2e.test.ts and
 * scripts/startup-time.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConnectRequestCodec, ConnectResponseCodec, type ConnectResponse } from '../../src/protocol/codec';
import { uniqueName, type DbInstance, type DbKind } from './db';
import { sqlArgs } from './ft';
import { RawClient } from './nats-helpers';

/**
 * Polls 127.0.0.1:port until a TCP connect is accepted and resolves with that connection
 * (the server's INFO is not awaited). Gives up when `gaveUp()` turns true (the server exited)
 * or after `timeoutMs`.
 */
export async function connectWhenOpen(port: number, gaveUp: () => boolean, timeoutMs = 20000): Promise<RawClient> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await RawClient.connect(port);
    } catch (err) {
      if (gaveUp()) throw new Error(`the server exited before port ${port} accepted connections (${String(err)})`);
      if (performance.now() > deadline) throw new Error(`port ${port} did not accept connections within ${timeoutMs} ms`);
      // A refused connect on loopback costs well under a millisecond: poll tightly, so the
      // probe connects as soon as the port accepts.
      await new Promise((r) => setImmediate(r));
    }
  }
}

/** The answer to one raw discovery request. */
export type DiscoverAnswer =
  | { kind: 'response'; response: ConnectResponse }
  /** An HMSG with a status header (503 = no responders), as the NATS server sends it. */
  | { kind: 'status'; status: string };

/**
 * A raw NATS connection speaking just enough protocol for STAN connect requests: CONNECT with
 * `headers` and `no_responders` on (as nats.go and nats.js send it), one wildcard inbox
 * subscription, requests published on `_STAN.discover.<clusterID>`.
 */
export class RawDiscoverer {
  private readonly inbox = `_INBOX.startup${Math.random().toString(36).slice(2)}`;
  private seq = 0;
  /** Where parsing of server messages starts (everything before is handled). */
  private offset = 0;

  private constructor(private readonly c: RawClient) {}

  /** Waits for INFO, then sends CONNECT and the inbox subscription in one write. */
  static async start(c: RawClient, timeoutMs = 5000): Promise<RawDiscoverer> {
    await c.waitFor('\r\n', timeoutMs);
    const d = new RawDiscoverer(c);
    d.offset = c.data.indexOf('\r\n') + 2;
    const connect = { verbose: false, pedantic: false, headers: true, no_responders: true, protocol: 1, lang: 'startup-probe', version: '0' };
    c.send(`CONNECT ${JSON.stringify(connect)}\r\nSUB ${d.inbox}.* 1\r\n`);
    return d;
  }

  /** Sends one STAN connect request and waits for its reply: a ConnectResponse or a status. */
  async request(clusterID: string, clientID: string, timeoutMs = 5000): Promise<DiscoverAnswer> {
    const reply = `${this.inbox}.${++this.seq}`;
    const payload = Buffer.from(ConnectRequestCodec.encode({ clientID, heartbeatInbox: `${this.inbox}.hb`, protocol: 1 }));
    this.c.send(Buffer.concat([Buffer.from(`PUB _STAN.discover.${clusterID} ${reply} ${payload.length}\r\n`), payload, Buffer.from('\r\n')]));
    let answer: DiscoverAnswer | undefined;
    await this.c.until((data) => {
      answer = this.parseUntil(data, reply);
      return answer !== undefined;
    }, timeoutMs);
    if (answer === undefined) throw new Error('unreachable: until() resolved without an answer');
    return answer;
  }

  /** Parses server messages from `offset` on; returns the answer addressed to `reply`, if complete. */
  private parseUntil(data: string, reply: string): DiscoverAnswer | undefined {
    for (;;) {
      const eol = data.indexOf('\r\n', this.offset);
      if (eol < 0) return undefined;
      const line = data.slice(this.offset, eol);
      const f = line.split(' ');
      if (f[0] === 'MSG' || f[0] === 'HMSG') {
        const total = Number(f[f.length - 1]);
        const start = eol + 2;
        if (data.length < start + total + 2) return undefined;
        const body = data.slice(start, start + total);
        this.offset = start + total + 2;
        if (f[1] !== reply) continue;
        if (f[0] === 'HMSG') {
          const hdrLen = Number(f[f.length - 2]);
          const statusLine = body.slice(0, hdrLen).split('\r\n')[0];
          const status = statusLine.split(' ')[1] ?? '';
          if (status !== '') return { kind: 'status', status };
          return { kind: 'response', response: ConnectResponseCodec.decode(Buffer.from(body.slice(hdrLen), 'latin1')) };
        }
        return { kind: 'response', response: ConnectResponseCodec.decode(Buffer.from(body, 'latin1')) };
      }
      if (f[0] === 'PING') this.c.send('PONG\r\n');
      if (f[0] === '-ERR') throw new Error(`server error: ${line}`);
      this.offset = eol + 2;
    }
  }

  close(): void {
    this.c.close();
  }
}

export type StartupStore = 'memory' | 'file' | 'postgres' | 'mariadb';

/** Server flags for a store: `first` for its first start (creates the schema), `args` for restarts. */
export interface StartupStoreArgs {
  first: string[];
  args: string[];
  /** Removes the store's files (FILE); SQL databases go with their instance. */
  cleanup: () => void;
}

/** A fresh store of each kind; SQL: a new database of `db(kind)`, created by the first start. */
export async function startupStoreArgs(store: StartupStore, db: (kind: DbKind) => Promise<DbInstance>): Promise<StartupStoreArgs> {
  if (store === 'memory') return { first: [], args: [], cleanup: () => undefined };
  if (store === 'file') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-startup-'));
    const args = ['--store', 'file', '--dir', dir];
    return { first: args, args, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const inst = await db(store);
  const name = uniqueName('startup');
  await inst.createDatabase(name);
  const args = sqlArgs(inst, name);
  return { first: [...args, '--sql_auto_migrate'], args, cleanup: () => undefined };
}
