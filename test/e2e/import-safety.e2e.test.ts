/**
 * Safety of `nats-streaming-server import` with the real CLI and server: kill -9 at any point
 * then --resume gives the same result as an uninterrupted run (monitoring and message rows);
 * a wrong key, a truncated file, a non-empty target, a target filled from another source, a
 * cluster ID other than the source's and the MEMORY store are refused with what to do;
 * --dry-run writes nothing; --skip_damaged lists what it left out (exit 2); progress is plain
 * lines when not on a terminal; the source may be the target's own database; a clustered
 * store imports its channels with a warning.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, spawnServer, startServerProc, sleep } from '../helpers/proc';
import { close, connect, publish } from '../helpers/stan';
import { copyFixture, expected, FIXTURE_KEY, FIXTURES, fingerprint } from '../helpers/reference-fixtures';
import { testDatabase } from '../helpers/db';
import { loadReferenceDump } from '../helpers/reference-sql';
import { generateReferenceStore } from '../helpers/reference-generate';
import { FIXTURE_CONF, getJson, messageRows, monitoringOf, newTarget, rowCounts, runImport, tempDir } from '../helpers/import';
import { ReferenceFileStoreWriter } from '../../src/import/reference';

const FILE_FIXTURE = ['--from_dir', path.join(FIXTURES, 'file')];
const CID = expected().cluster_id;

describe('import: interrupted and resumed', () => {
  test('kill -9 in the middle, then --resume: same monitoring and message rows as one uninterrupted run', async () => {
    const src = generateReferenceStore(tempDir('imp-gen-'), { channels: 3, messagesPerChannel: 60_000, payloadBytes: 64, sliceMessages: 25_000 });
    const from = ['--from_dir', src.dir];
    const whole = await newTarget('file');
    const ok = await runImport([...from, ...whole.flags]);
    assert.equal(ok.exit.code, 0, ok.proc.output);

    const cut = await newTarget('file');
    const proc = spawnServer(['import', ...from, ...cut.flags]);
    // Wait until some messages are committed, then kill without warning.
    const db = path.join(cut.flags[cut.flags.length - 1] as string, 'stan.db');
    for (;;) {
      if (fs.existsSync(db)) {
        const rows = await rowCounts(cut).catch(() => ({ stan_messages: 0 }));
        if ((rows.stan_messages ?? 0) > 0) break;
      }
      assert.equal(proc.child.exitCode, null, `the import ended before it could be interrupted: ${proc.output}`);
      await sleep(10);
    }
    proc.child.kill('SIGKILL');
    await proc.waitExit();
    assert.ok((await messageRows(cut)).length < src.totalMessages, 'interrupted before the end');

    const again = await runImport([...from, ...cut.flags]);
    assert.equal(again.exit.code, 1);
    assert.match(again.proc.stderr, /interrupted import of this source .*rerun with --resume/);
    const resumed = await runImport([...from, ...cut.flags, '--resume']);
    assert.equal(resumed.exit.code, 0, resumed.proc.output);
    assert.match(resumed.proc.stderr, /resuming the interrupted import/);

    assert.deepEqual(await messageRows(cut), await messageRows(whole));
    assert.deepEqual(await monitoringOf(cut, src.clusterId), await monitoringOf(whole, src.clusterId));

    // Resuming a finished import changes nothing; a plain rerun is refused.
    const done = await runImport([...from, ...cut.flags, '--resume']);
    assert.equal(done.exit.code, 0, done.proc.output);
    assert.match(done.proc.stderr, /already holds the complete import/);
    const twice = await runImport([...from, ...cut.flags]);
    assert.equal(twice.exit.code, 1);
    assert.match(twice.proc.stderr, /already holds a complete import of this source/);
  });
});

describe('import: refusals and damaged sources', () => {
  test('a wrong key is refused before anything is written, naming the file and offset', async () => {
    const t = await newTarget('postgres');
    const before = await rowCounts(t);
    const r = await runImport(['--from_dir', path.join(FIXTURES, 'file-encrypted'), '--from_encryption_key', 'not-the-key', ...t.flags]);
    assert.equal(r.exit.code, 1);
    assert.match(r.proc.stderr, /could not be decrypted: the key is wrong/);
    assert.match(r.proc.stderr, /msgs\.1\.dat at offset \d+/);
    assert.deepEqual(await rowCounts(t), before);
    // The key from the environment works like --from_encryption_key.
    const env = await runImport(['--from_dir', path.join(FIXTURES, 'file-encrypted'), ...t.flags], { env: { ...process.env, NATS_STREAMING_ENCRYPTION_KEY: FIXTURE_KEY } });
    assert.equal(env.exit.code, 0, env.proc.output);
  });

  test('a truncated message file fails naming file and offset; --skip_damaged lists it and exits 2', async () => {
    const dir = copyFixture('file');
    const dat = path.join(dir, 'orders', 'msgs.1.dat');
    fs.truncateSync(dat, fs.statSync(dat).size - 3);
    const sum = fingerprint(dir);
    const t = await newTarget('file');
    const r = await runImport(['--from_dir', dir, ...t.flags, '-sc', FIXTURE_CONF]);
    assert.equal(r.exit.code, 1, r.proc.output);
    assert.match(r.proc.stderr, /orders\/msgs\.1\.dat at offset \d+/);
    const t2 = await newTarget('file');
    const s = await runImport(['--from_dir', dir, ...t2.flags, '-sc', FIXTURE_CONF, '--skip_damaged']);
    assert.equal(s.exit.code, 2, s.proc.output);
    assert.match(s.proc.stdout, /1 damaged message record\(s\) skipped:\n {2}channel "orders"/);
    assert.match(s.proc.stdout, /orders\/msgs\.1\.dat at offset \d+/);
    assert.deepEqual(fingerprint(dir), sum, 'the source is only read');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a non-empty target is refused, naming what is there; so is one filled from another source', async () => {
    const t = await newTarget('mariadb');
    const s = await startServerProc([...t.flags, '-cid', CID]);
    const sc = await connect(s.url, CID, 'filler');
    await publish(sc, 'already.here', 'x');
    await close(sc);
    await s.proc.stop();
    const r = await runImport([...FILE_FIXTURE, ...t.flags]);
    assert.equal(r.exit.code, 1);
    assert.match(r.proc.stderr, /target store is not empty: it holds cluster "fixture-cluster", 1 channel\(s\) \(already\.here\), 1 message/);

    const other = await newTarget('file');
    assert.equal((await runImport([...FILE_FIXTURE, ...other.flags])).exit.code, 0);
    const gen = generateReferenceStore(tempDir('imp-gen-'), { channels: 1, messagesPerChannel: 3, payloadBytes: 4, clusterId: CID });
    const wrong = await runImport(['--from_dir', gen.dir, ...other.flags, '--resume']);
    assert.equal(wrong.exit.code, 1);
    assert.match(wrong.proc.stderr, /filled by an import of another reference store/);
  });

  test('-cid other than the source\'s and the MEMORY store are refused', async () => {
    const t = await newTarget('file');
    const cid = await runImport([...FILE_FIXTURE, ...t.flags, '-cid', 'other']);
    assert.equal(cid.exit.code, 1);
    assert.match(cid.proc.stderr, /-cid other differs from the source's cluster ID "fixture-cluster"/);
    const mem = await runImport([...FILE_FIXTURE, '-store', 'memory']);
    assert.equal(mem.exit.code, 1);
    assert.match(mem.proc.stderr, /the target is the MEMORY store/);
  });

  test('--dry-run reads and validates everything, prints the summary and writes nothing', async () => {
    const pg = await newTarget('postgres');
    const m = spawnServer(['migrate', ...pg.flags.filter((f) => f !== '--sql_auto_migrate')]);
    assert.equal((await m.waitExit()).code, 0, m.output);
    const before = await rowCounts(pg);
    const r = await runImport([...FILE_FIXTURE, ...pg.flags, '-sc', FIXTURE_CONF, '--dry-run']);
    assert.equal(r.exit.code, 0, r.proc.output);
    assert.match(r.proc.stdout, /^limited\s+8\s+4\s+11\s/m);
    assert.match(r.proc.stderr, /dry run: nothing was written/);
    assert.deepEqual(await rowCounts(pg), before);
    const file = await newTarget('file');
    const d = await runImport([...FILE_FIXTURE, ...file.flags, '--dry-run']);
    assert.equal(d.exit.code, 0, d.proc.output);
    assert.equal(fs.existsSync(file.flags[file.flags.length - 1] as string), false);
  });
});

describe('import: encryption', () => {
  test('decrypted from the reference, re-encrypted when the target runs with --encrypt (key from the environment)', async () => {
    const t = await newTarget('file');
    const env = { ...process.env, NATS_STREAMING_ENCRYPTION_KEY: 'target-key' };
    const r = await runImport(['--from_dir', path.join(FIXTURES, 'file-encrypted'), '--from_encryption_key', FIXTURE_KEY, ...t.flags, '--encrypt'], { env });
    assert.equal(r.exit.code, 0, r.proc.output);
    const rows = await messageRows(t);
    assert.equal(rows.length, 29, 'no -sc given: limited keeps its 11 messages');
    // data column (hex, last field): every row sealed (magic byte 0xec), no plaintext payload
    assert.ok(rows.every((row) => (row.split(':')[4] ?? '').startsWith('ec')), 'every row is encrypted');
    assert.ok(!rows.some((row) => Buffer.from(row.split(':')[4] ?? '', 'hex').includes('ev-1')), 'no plaintext');
    const mport = await freePort();
    const s = spawnServer(['-a', '127.0.0.1', '-p', String(await freePort()), '-m', String(mport), ...t.flags, '--encrypt', '-cid', CID], { env });
    try {
      // Ready means the first and last row of every channel opened with the target key.
      await s.waitForLine(/Streaming Server is ready/, { timeoutMs: 15000 });
      const cz = await getJson<{ channels: Array<{ name: string; msgs: number }> }>(mport, '/streaming/channelsz?subs=1');
      assert.equal(cz.channels.find((c) => c.name === 'events')?.msgs, 5);
    } finally {
      await s.stop();
    }
  });
});

describe('import: output, shared database, clustered stores', () => {
  test('not on a terminal, progress is plain lines; the summary has totals and limit drops', async () => {
    const t = await newTarget('file');
    const r = await runImport([...FILE_FIXTURE, ...t.flags, '-sc', FIXTURE_CONF]);
    assert.equal(r.exit.code, 0, r.proc.output);
    assert.ok(!r.proc.output.includes('\r'), 'no carriage returns');
    assert.match(r.proc.stderr, /^import: 26 messages written in [\d.]+ s \(\d+ msgs\/s\)$/m);
    // limited: 11 present in the FILE store, max_msgs 8 → 3 dropped
    assert.match(r.proc.stdout, /^limited\s+8\s+4\s+11\s+\d+\s+0\s+0\s+3$/m);
    assert.match(r.proc.stdout, /^TOTAL\s+26\s+\d+\s+5\s+4\s+3$/m);
  });

  test('source and target in the same PostgreSQL database: the tables do not collide and the server starts on it', async () => {
    const db = await testDatabase('postgres', 'impsame');
    await loadReferenceDump('postgres', db.instance, db.name);
    const flags = ['-store', 'sql', '--sql_driver', 'postgres', '--sql_source', db.url];
    const noMigrate = await runImport(['--from_sql_driver', 'postgres', '--from_sql_source', db.url, ...flags]);
    assert.equal(noMigrate.exit.code, 1);
    assert.match(noMigrate.proc.stderr, /add --sql_auto_migrate/);
    const r = await runImport(['--from_sql_driver', 'postgres', '--from_sql_source', db.url, ...flags, '--sql_auto_migrate']);
    assert.equal(r.exit.code, 0, r.proc.output);
    const mport = await freePort();
    const s = await startServerProc([...flags, '-m', String(mport), '-cid', CID]);
    try {
      const cz = await getJson<{ channels: Array<{ name: string; last_seq: number }> }>(mport, '/streaming/channelsz?subs=1');
      assert.deepEqual(cz.channels.map((c) => [c.name, c.last_seq]).sort(), [['events', 5], ['limited', 11], ['orders', 5], ['work', 8]]);
    } finally {
      await s.proc.stop();
    }
  });

  test('a clustered store: channels and messages come across, with a warning about positions', async () => {
    const dir = tempDir('imp-clustered-');
    const w = new ReferenceFileStoreWriter(dir);
    w.writeServerInfo({ clusterId: 'raft-c', discovery: '_STAN.discover', publish: '_STAN.pub.X', subscribe: '_STAN.sub.X', unsubscribe: '_STAN.unsub.X', close: '_STAN.close.X', subClose: '_STAN.subclose.X', acks: '_STAN.ack.X', nodeId: 'node-a' });
    const ch = w.channel('c');
    for (let q = 1; q <= 4; q++) ch.append({ seq: q, timestamp: 1_000n + BigInt(q), data: Buffer.from(`m${q}`) });
    ch.close();
    const t = await newTarget('file');
    const r = await runImport(['--from_dir', dir, ...t.flags]);
    assert.equal(r.exit.code, 0, r.proc.output);
    assert.match(r.proc.stderr, /clustered \(Raft\) store: .*subscription positions .* NOT imported/);
    assert.match(r.proc.stdout, /^c\s+4\s+1\s+4\s/m);
  });
});
