/**
 * Encryption at rest (docs/encryption.md), with the real STAN client on FILE (SQLite),
 * PostgreSQL and MariaDB: published payloads carry known markers; with --encrypt no marker is
 * found in any column of any table read directly with the database's own driver (nor, for
 * FILE, in any byte of the store directory); a restart with the same key delivers every
 * message intact (durable redelivery included); a wrong key and a missing key refuse to start
 * with a clear error; rows written before encryption was turned on stay readable; rows of
 * either cipher are read whatever cipher is selected now. The real CLI process: --encrypt
 * --encryption_key, the environment variable winning over the flag, storez type unchanged.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { Client as PgClient } from 'pg';
import * as mysql from 'mysql2/promise';
import { startServer, type Logger, type ServerHandle } from '../../src/index';
import type { StreamingOptions } from '../../src/config/options';
import { storeOptionsFor, type TestStore } from '../helpers/server';
import { close, Collector, connect, flushNats, publish, subscribe, until } from '../helpers/stan';
import { readAll } from '../helpers/durability';
import { spawnServer, startServerProc, freePort } from '../helpers/proc';
import { httpGet } from '../helpers/http';
import { tsxSealWorker } from '../helpers/seal-worker';

const STORES: TestStore[] = ['file', 'postgres', 'mysql'];

const open: Array<() => Promise<void>> = [];
after(async () => {
  for (const f of open.reverse()) await f().catch(() => undefined);
});

/** A marker unique to this run, so a hit can only come from what this test published. */
function marker(tag: string): string {
  return `ENC-MARKER-${tag}-${randomBytes(6).toString('hex')}`;
}

/** The forms a payload could take in a column: raw bytes, hex and base64 text. */
function needles(m: string): Buffer[] {
  const raw = Buffer.from(m, 'utf8');
  return [raw, Buffer.from(raw.toString('hex'), 'utf8'), Buffer.from(raw.toString('hex').toUpperCase(), 'utf8'), Buffer.from(raw.toString('base64'), 'utf8')];
}

function cellBytes(v: unknown): Buffer {
  if (v === null || v === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  return Buffer.from(String(v), 'utf8');
}

interface RawDump {
  /** table → rows (every column, as the driver returns it). */
  tables: Map<string, Array<Record<string, unknown>>>;
}

/** Reads every row of every table of the store's database with the database's own driver. */
async function dumpTables(so: Partial<StreamingOptions>): Promise<RawDump> {
  const tables = new Map<string, Array<Record<string, unknown>>>();
  if (so.storeType === 'FILE') {
    const db = new Database(path.join(so.filestoreDir!, 'stan.db'), { readonly: true });
    try {
      const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
      for (const { name } of names) tables.set(name, db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>);
    } finally {
      db.close();
    }
    return { tables };
  }
  const url = so.sql!.source;
  if (so.sql!.driver === 'postgres') {
    const c = new PgClient({ connectionString: url });
    await c.connect();
    try {
      const names = await c.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
      for (const { table_name } of names.rows) tables.set(table_name, (await c.query(`SELECT * FROM "${table_name}"`)).rows as Array<Record<string, unknown>>);
    } finally {
      await c.end();
    }
    return { tables };
  }
  const c = await mysql.createConnection(url);
  try {
    const [names] = await c.query('SHOW TABLES');
    for (const row of names as Array<Record<string, string>>) {
      const name = Object.values(row)[0];
      const [rows] = await c.query(`SELECT * FROM \`${name}\``);
      tables.set(name, rows as Array<Record<string, unknown>>);
    }
  } finally {
    await c.end();
  }
  return { tables };
}

/** Where a marker shows up in the dump (`table.column`), empty when nowhere. */
function findMarker(dump: RawDump, m: string): string[] {
  const hits: string[] = [];
  const ns = needles(m);
  for (const [table, rows] of dump.tables) {
    for (const row of rows) {
      for (const [col, v] of Object.entries(row)) {
        const b = cellBytes(v);
        if (ns.some((n) => b.includes(n))) hits.push(`${table}.${col}`);
      }
    }
  }
  return hits;
}

/** FILE store: the marker in any byte of any file of the store directory (WAL included). */
function findMarkerInFiles(dir: string, m: string): string[] {
  const raw = Buffer.from(m, 'utf8');
  const hits: string[] = [];
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile() && fs.readFileSync(p).includes(raw)) hits.push(f);
  }
  return hits;
}

function messageRows(dump: RawDump): Array<Record<string, unknown>> {
  return dump.tables.get('stan_messages') ?? [];
}

class CaptureLogger implements Logger {
  readonly lines: string[] = [];
  readonly isDebug = false;
  readonly isTrace = false;
  notice(m: string): void {
    this.lines.push(`[INF] ${m}`);
  }
  warn(m: string): void {
    this.lines.push(`[WRN] ${m}`);
  }
  error(m: string): void {
    this.lines.push(`[ERR] ${m}`);
  }
  fatal(m: string): void {
    this.lines.push(`[FTL] ${m}`);
  }
  debug(): void {}
  trace(): void {}
}

async function start(base: Partial<StreamingOptions>, enc: Partial<StreamingOptions>, logger?: Logger): Promise<ServerHandle> {
  const s = await startServer({ streaming: { ...base, encrypt: false, encryptionCipher: '', encryptionKey: '', ...enc }, nats: { port: 0 }, logger, spawnSealWorker: tsxSealWorker });
  open.push(() => s.close());
  return s;
}

async function expectStartFailure(base: Partial<StreamingOptions>, enc: Partial<StreamingOptions>, re: RegExp): Promise<void> {
  await assert.rejects(
    startServer({ streaming: { ...base, encrypt: false, encryptionCipher: '', encryptionKey: '', ...enc }, nats: { port: 0 }, spawnSealWorker: tsxSealWorker }),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, re);
      return true;
    },
  );
}

const BIG = 70_000;

for (const store of STORES) {
  describe(`encryption at rest (${store})`, () => {
    test('payloads are encrypted in every table; same key delivers them; wrong or no key refuses to start', async () => {
      const base = { ...(await storeOptionsFor(store)), clusterID: `enc-${store}-${process.pid}` };
      const KEY = `key-${randomBytes(8).toString('hex')}`;
      const enc = { encrypt: true, encryptionKey: KEY, encryptionCipher: 'AES' };
      const marks = Array.from({ length: 8 }, (_, i) => marker(`${store}-${i}`));
      const bigMark = marker(`${store}-big`);
      const bigPayload = Buffer.concat([Buffer.from(bigMark), Buffer.alloc(BIG, 0x41), Buffer.from(bigMark)]);

      const log = new CaptureLogger();
      let s = await start(base, enc, log);
      assert.ok(log.lines.some((l) => /Message payloads are encrypted at rest with AES-256-GCM/.test(l)), log.lines.join('\n'));
      assert.equal(s.server.store.type, store === 'file' ? 'FILE' : 'SQL', 'the store type is unchanged by encryption');
      const pub = await connect(s.natsURL, base.clusterID, 'pub');
      for (const m of marks) await publish(pub, 'enc.a', m);
      await publish(pub, 'enc.big', bigPayload);
      // A durable with 1..4 acknowledged and 5..8 pending: after the restart the pending ones
      // are redelivered from the database (not from any cache).
      const dc = await connect(s.natsURL, base.clusterID, 'dur');
      const sub = await subscribe(dc, 'enc.a', dc.subscriptionOptions().setDurableName('d').setDeliverAllAvailable().setManualAckMode(true).setAckWait(60_000));
      const col = new Collector(sub, false);
      await col.waitFor(marks.length, 15_000);
      for (const m of col.msgs.slice(0, 4)) m.ack();
      await flushNats(dc);
      await close(pub);
      await close(dc);
      await s.close();

      const dump = await dumpTables(base);
      const rows = messageRows(dump);
      assert.equal(rows.length, marks.length + 1, 'every message has its row');
      for (const r of rows) assert.equal(cellBytes(r.data)[0], 0xec, 'every row is an encrypted record');
      // `size` is the plaintext size (limits and monitoring are unchanged by encryption).
      const bigRow = rows.find((r) => Number(r.size) > BIG);
      assert.ok(bigRow !== undefined && cellBytes(bigRow.data).length > Number(bigRow.size));
      for (const m of [...marks, bigMark]) assert.deepEqual(findMarker(dump, m), [], `marker ${m} found in the database`);
      if (store === 'file') {
        for (const m of [...marks, bigMark]) assert.deepEqual(findMarkerInFiles(base.filestoreDir!, m), [], `marker ${m} found in a file`);
      }
      // Control: the scan finds what is there (the channel name is stored in plaintext).
      assert.notDeepEqual(findMarker(dump, 'enc.big'), []);

      // Wrong key and no key: a clear start-up error, nothing served.
      await expectStartFailure(base, { ...enc, encryptionKey: `${KEY}-wrong` }, /^wrong encryption key: cannot decrypt stored messages of channel "enc\.(a|big)"/);
      await expectStartFailure(base, {}, /^messages are encrypted: start with --encryption_key or NATS_STREAMING_ENCRYPTION_KEY/);
      await expectStartFailure(base, { encrypt: true }, /encryption is enabled \(--encrypt\) but no key is given/);

      // Same key: everything delivered intact, the durable's pending messages redelivered.
      s = await start(base, enc);
      const all = await readAll(s.natsURL, base.clusterID, 'enc.a', marks.length);
      assert.deepEqual(all.map((m) => String(m.getData())), marks);
      const big = await readAll(s.natsURL, base.clusterID, 'enc.big', 1);
      assert.deepEqual(Buffer.from(big[0].getData() as Buffer), bigPayload);
      const dc2 = await connect(s.natsURL, base.clusterID, 'dur');
      const sub2 = await subscribe(dc2, 'enc.a', dc2.subscriptionOptions().setDurableName('d').setDeliverAllAvailable().setManualAckMode(true).setAckWait(60_000));
      const col2 = new Collector(sub2, true);
      await col2.waitFor(4, 15_000);
      assert.deepEqual(col2.seqs(), [5, 6, 7, 8]);
      assert.deepEqual(col2.datas(), marks.slice(4));
      assert.ok(col2.msgs.every((m) => m.isRedelivered()));
      await close(dc2);
      await s.close();
    });

    test('plaintext rows stay readable after encryption is turned on; both ciphers read with either selected', async () => {
      const base = { ...(await storeOptionsFor(store)), clusterID: `encmix-${store}-${process.pid}` };
      const KEY = `mix-${randomBytes(8).toString('hex')}`;
      const plainMarks = [marker('plain-1'), marker('plain-2')];
      const chachaMarks = [marker('chacha-1'), marker('chacha-2')];
      const aesMarks = [marker('aes-1')];

      // 1. No encryption: the markers are in the database (the scan can fail).
      let s = await start(base, {});
      let pub = await connect(s.natsURL, base.clusterID, 'pub');
      for (const m of plainMarks) await publish(pub, 'mix', m);
      await close(pub);
      await s.close();
      for (const m of plainMarks) assert.notDeepEqual(findMarker(await dumpTables(base), m), [], 'plaintext control');

      // 2. CHACHA on: old rows untouched (plaintext), new rows encrypted.
      s = await start(base, { encrypt: true, encryptionCipher: 'CHACHA', encryptionKey: KEY });
      pub = await connect(s.natsURL, base.clusterID, 'pub');
      for (const m of chachaMarks) await publish(pub, 'mix', m);
      assert.deepEqual((await readAll(s.natsURL, base.clusterID, 'mix', 4)).map((m) => String(m.getData())), [...plainMarks, ...chachaMarks]);
      await close(pub);
      await s.close();
      const dump = await dumpTables(base);
      for (const m of chachaMarks) assert.deepEqual(findMarker(dump, m), []);
      const ciphers = messageRows(dump).map((r) => cellBytes(r.data)[2]);
      assert.equal(ciphers.filter((c) => c === 2).length, 2, 'two ChaCha rows (cipher id 2)');

      // 3. AES selected now: the ChaCha and plaintext rows are still read; new rows are AES.
      s = await start(base, { encrypt: true, encryptionCipher: 'AES', encryptionKey: KEY });
      pub = await connect(s.natsURL, base.clusterID, 'pub');
      for (const m of aesMarks) await publish(pub, 'mix', m);
      assert.deepEqual((await readAll(s.natsURL, base.clusterID, 'mix', 5)).map((m) => String(m.getData())), [...plainMarks, ...chachaMarks, ...aesMarks]);
      await close(pub);
      await s.close();
      const dump2 = await dumpTables(base);
      assert.deepEqual(findMarker(dump2, aesMarks[0]), []);
      assert.equal(messageRows(dump2).filter((r) => cellBytes(r.data)[0] === 0xec && cellBytes(r.data)[2] === 1).length, 1, 'one AES row');

      // 4. Key known but encryption off (read-only key): everything readable, new rows plain.
      const log = new CaptureLogger();
      s = await start(base, { encrypt: false, encryptionKey: KEY }, log);
      assert.ok(log.lines.some((l) => /\[WRN\].*UNENCRYPTED/.test(l)), log.lines.join('\n'));
      const lateMark = marker('late-plain');
      pub = await connect(s.natsURL, base.clusterID, 'pub');
      await publish(pub, 'mix', lateMark);
      assert.equal((await readAll(s.natsURL, base.clusterID, 'mix', 6)).length, 6);
      await close(pub);
      await s.close();
      assert.notDeepEqual(findMarker(await dumpTables(base), lateMark), []);

      // 5. No key at all: the oldest and newest rows are plaintext, but the check reads
      // them only; a delivery of an encrypted one logs a clear error and nothing crashes.
      const log2 = new CaptureLogger();
      s = await start(base, {}, log2);
      const sc = await connect(s.natsURL, base.clusterID, 'reader');
      const rsub = await subscribe(sc, 'mix', sc.subscriptionOptions().setStartAtSequence(3).setMaxInFlight(100));
      void new Collector(rsub, true);
      await until(() => log2.lines.some((l) => /\[ERR\] Unable to read message 3 of channel "mix": .*messages are encrypted: start with --encryption_key or NATS_STREAMING_ENCRYPTION_KEY/.test(l)), 10_000, 'read error logged');
      // The server still serves.
      await publish(sc, 'other', 'still alive');
      await close(sc);
      await s.close();
    });
  });
}

describe('encryption at rest: CLI process', () => {
  test('--encrypt --encryption_key; the environment variable wins over the flag; wrong key exits with a clear error; storez type FILE', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-enc-cli-'));
    open.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const cid = 'enc-cli';
    const KEY = `cli-${randomBytes(8).toString('hex')}`;
    const marks = [marker('cli-1'), marker('cli-2')];
    const httpPort = await freePort();

    const a = await startServerProc(['-cid', cid, '-store', 'file', '-dir', dir, '--encrypt', '--encryption_key', KEY, '-m', String(httpPort)]);
    open.push(() => a.proc.kill());
    const storez = (await httpGet(httpPort, '/streaming/storez')).json();
    assert.equal(storez.type, 'FILE');
    const pub = await connect(a.url, cid, 'pub');
    for (const m of marks) await publish(pub, 'cli', m);
    await close(pub);
    a.proc.child.kill('SIGINT');
    assert.equal((await a.proc.waitExit(15_000)).code, 0);
    for (const m of marks) assert.deepEqual(findMarkerInFiles(dir, m), [], `marker in ${dir}`);

    // The environment variable holds the right key, the flag a wrong one: the variable wins.
    const envArgs = ['-cid', cid, '-store', 'file', '-dir', dir, '--encrypt', '--encryption_key', 'not-the-key'];
    const port = await freePort();
    const b = spawnServer(['-a', '127.0.0.1', '-p', String(port), ...envArgs], { env: { ...process.env, NATS_STREAMING_ENCRYPTION_KEY: KEY } });
    open.push(() => b.kill());
    await b.waitForLine(/Streaming Server is ready/, { timeoutMs: 15_000 });
    const got = await readAll(`nats://127.0.0.1:${port}`, cid, 'cli', marks.length);
    assert.deepEqual(got.map((m) => String(m.getData())), marks);
    b.child.kill('SIGINT');
    await b.waitExit(15_000);

    // The flag's key alone (no variable) is the wrong one: a clear fatal line, exit code 1.
    const env = { ...process.env };
    delete env.NATS_STREAMING_ENCRYPTION_KEY;
    const c = spawnServer(['-a', '127.0.0.1', '-p', String(await freePort()), ...envArgs], { env });
    open.push(() => c.kill());
    const exit = await c.waitExit(15_000);
    assert.equal(exit.code, 1, c.output);
    assert.match(c.output, /\[FTL\] STREAM: wrong encryption key: cannot decrypt stored messages of channel "cli"/);
    assert.doesNotMatch(c.output, /Streaming Server is ready/);
  });

  test('MEMORY with --encrypt starts and says there is nothing to encrypt; --encrypt without a key is refused', async () => {
    const a = await startServerProc(['-cid', 'enc-mem', '--encrypt', '--encryption_key', 'k']);
    open.push(() => a.proc.kill());
    assert.match(a.proc.output, /the MEMORY store writes nothing to disk: there is nothing to encrypt/);
    a.proc.child.kill('SIGINT');
    await a.proc.waitExit(15_000);

    const env = { ...process.env };
    delete env.NATS_STREAMING_ENCRYPTION_KEY;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-enc-nokey-'));
    open.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const b = spawnServer(['-a', '127.0.0.1', '-p', String(await freePort()), '-store', 'file', '-dir', dir, '--encrypt'], { env });
    open.push(() => b.kill());
    const exit = await b.waitExit(15_000);
    assert.equal(exit.code, 1, b.output);
    assert.match(b.output, /encryption is enabled \(--encrypt\) but no key is given: set NATS_STREAMING_ENCRYPTION_KEY/);
  });
});
