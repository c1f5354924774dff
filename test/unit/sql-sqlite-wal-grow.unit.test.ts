/**
 * The WAL grown ahead of the first burst (src/store/sql/sqlite-wal-grow.ts): the missing bytes
 * are spilled then flushed, nothing is done when the file is already that large, and a failure
 * is not thrown into the thread; the write thread (sqlite-writer.ts) raises the main
 * connection's checkpoint mark when its first batch is handed over, not when it starts (a thread
 * started at open to grow the WAL that never writes leaves the inline commits as they were).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { growWal, spillAndRollBack, WAL_GROWTH_BYTES, type SpillConnection, type WalGrowthSeams } from '../../src/store/sql/sqlite-wal-grow';
import { SqliteWriteThread, type SqliteWriteReply, type SqliteWriteRequest, type SqliteWriterData } from '../../src/store/sql/sqlite-writer';
import { packSqliteBatch } from '../../src/store/sql/sqlite-batch';

function seams(size: number, fail?: 'size' | 'spill' | 'sync'): { s: WalGrowthSeams; calls: string[] } {
  const calls: string[] = [];
  const s: WalGrowthSeams = {
    size: () => {
      calls.push('size');
      if (fail === 'size') throw new Error('EACCES');
      return size;
    },
    spill: (bytes) => {
      calls.push(`spill ${bytes}`);
      if (fail === 'spill') throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    },
    sync: () => {
      calls.push('sync');
      if (fail === 'sync') throw new Error('EIO');
    },
  };
  return { s, calls };
}

test('a WAL smaller than the target: the missing bytes are spilled, then the file is flushed', () => {
  const { s, calls } = seams(8272);
  assert.equal(growWal(s, 1 << 20), (1 << 20) - 8272);
  assert.deepEqual(calls, ['size', `spill ${(1 << 20) - 8272}`, 'sync']);
  const none = seams(0);
  assert.equal(growWal(none.s), WAL_GROWTH_BYTES);
  assert.deepEqual(none.calls, ['size', `spill ${WAL_GROWTH_BYTES}`, 'sync']);
});

test('a WAL already as large as the target (a restart after a crash, a store reopened): nothing written', () => {
  for (const size of [1 << 20, (1 << 20) + 1]) {
    const { s, calls } = seams(size);
    assert.equal(growWal(s, 1 << 20), 0);
    assert.deepEqual(calls, ['size']);
  }
});

test('a failure while growing is not thrown: growing is only ahead of time what the first burst does', () => {
  for (const fail of ['size', 'spill', 'sync'] as const) {
    const { s, calls } = seams(0, fail);
    assert.equal(growWal(s, 1 << 20), 0, fail);
    if (fail === 'spill') assert.ok(!calls.includes('sync'), 'no flush after a failed spill');
  }
});

test('the spill is one rolled-back transaction with a small cache, the cache size restored', () => {
  const sql: string[] = [];
  const db: SpillConnection = {
    pragma: (source) => {
      sql.push(`pragma ${source}`);
      return source === 'cache_size' ? -2000 : undefined;
    },
    exec: (source) => sql.push(source),
    prepare: (source) => ({ run: (...p: number[]) => sql.push(`${source} [${p.join(',')}]`) }),
  };
  spillAndRollBack(db, 4096);
  assert.deepEqual(sql, [
    'pragma cache_size',
    'pragma cache_size = 16',
    'BEGIN IMMEDIATE',
    'CREATE TABLE stan_wal_growth (b BLOB)',
    'INSERT INTO stan_wal_growth VALUES (zeroblob(?)) [4096]',
    'ROLLBACK',
    'pragma cache_size = -2000',
  ]);
  // A failing insert still rolls back and restores the cache.
  sql.length = 0;
  const failing: SpillConnection = { ...db, prepare: () => ({ run: () => { throw new Error('disk full'); } }) };
  assert.throws(() => spillAndRollBack(failing, 4096), /disk full/);
  assert.deepEqual(sql.slice(-2), ['ROLLBACK', 'pragma cache_size = -2000']);
});

/** A worker that answers ready, then 'ok' to every batch; `tell` sends a reply as the worker. */
function fakeWorker(seen: SqliteWriterData[], workers: Array<(m: SqliteWriteReply) => void>, exits: Array<() => void> = []): (data: SqliteWriterData) => Worker {
  return (data) => {
    seen.push(data);
    const w = new EventEmitter() as EventEmitter & Record<string, unknown>;
    w.ref = () => undefined;
    w.unref = () => undefined;
    w.terminate = async () => 0;
    exits.push(() => w.emit('exit', 1));
    w.postMessage = (req: SqliteWriteRequest) => {
      if ('plan' in req && req.plan !== undefined) {
        const id = req.id;
        setImmediate(() => w.emit('message', { first: id, last: id, result: 'ok' } satisfies SqliteWriteReply));
      }
    };
    workers.push((m) => w.emit('message', m));
    setImmediate(() => w.emit('message', { ready: true } satisfies SqliteWriteReply));
    return w as unknown as Worker;
  };
}

test('the write thread: the growth is handed to the worker; a batch handed over raises the mark, a checkpoint that copied every batch lowers it', async () => {
  const seen: SqliteWriterData[] = [];
  const tell: Array<(m: SqliteWriteReply) => void> = [];
  const marks: string[] = [];
  const thread = new SqliteWriteThread({ file: '/nonexistent/stan.db', sync: true, growWal: 1 << 20 }, fakeWorker(seen, tell), {
    raise: () => marks.push('raise'),
    lower: () => marks.push('lower'),
  });
  await thread.start();
  assert.equal(seen[0].growWal, 1 << 20);
  assert.deepEqual(marks, [], 'started, no batch yet: the mark is left as it was');
  const plan = packSqliteBatch([], [], { dropChannels: [], skipExisting: false, encrypting: false });
  assert.equal(await thread.write(plan), 'ok'); // id 1
  assert.equal(await thread.write(plan, true), 'ok'); // id 2
  assert.deepEqual(marks, ['raise'], 'raised once, at the first batch');
  tell[0]({ checkpointed: 1 });
  assert.deepEqual(marks, ['raise'], 'batch 2 was handed over after the copied one: still raised');
  tell[0]({ checkpointed: 2 });
  assert.deepEqual(marks, ['raise', 'lower']);
  tell[0]({ checkpointed: 2 });
  assert.deepEqual(marks, ['raise', 'lower'], 'lowered once');
  assert.equal(await thread.write(plan), 'ok');
  assert.deepEqual(marks, ['raise', 'lower', 'raise'], 'the next batch raises it again');
});

test('a worker lost while the mark is raised lowers it: the main connection checkpoints itself again', async () => {
  const exits: Array<() => void> = [];
  const marks: string[] = [];
  const thread = new SqliteWriteThread({ file: '/nonexistent/stan.db', sync: true }, fakeWorker([], [], exits), {
    raise: () => marks.push('raise'),
    lower: () => marks.push('lower'),
  });
  const plan = packSqliteBatch([], [], { dropChannels: [], skipExisting: false, encrypting: false });
  assert.equal(await thread.write(plan), 'ok');
  exits[0]();
  assert.deepEqual(marks, ['raise', 'lower']);
  assert.equal(await thread.write(plan), 'ok');
  assert.deepEqual(marks, ['raise', 'lower', 'raise'], 'the new worker\'s first batch raises it again');
});
