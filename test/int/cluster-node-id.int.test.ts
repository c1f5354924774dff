/** The node ID file of a clustered node started without --cluster_node_id (src/cluster/node-id.ts), on a real file system. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NODE_ID_FILE, resolveNodeID } from '../../src/cluster/node-id';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'stan-nodeid-'));
}

test('node ID: a configured ID is used as is, no file written', () => {
  const cwd = tmp();
  const id = resolveNodeID({ nodeID: 'a', logPath: '', clusterID: 'c1', cwd, generate: () => 'never' });
  assert.deepEqual(id, { id: 'a', generated: false });
  assert.equal(fs.existsSync(path.join(cwd, 'c1')), false);
});

test('node ID: generated once under ./<cluster id>/, then read back', () => {
  const cwd = tmp();
  let n = 0;
  const gen = (): string => `GEN${++n}`;
  const first = resolveNodeID({ nodeID: '', logPath: '', clusterID: 'c1', cwd, generate: gen });
  const file = path.join(cwd, 'c1', NODE_ID_FILE);
  assert.deepEqual(first, { id: 'GEN1', file, generated: true });
  assert.equal(fs.readFileSync(file, 'utf8'), 'GEN1\n');
  const again = resolveNodeID({ nodeID: '', logPath: '', clusterID: 'c1', cwd, generate: gen });
  assert.deepEqual(again, { id: 'GEN1', file, generated: false });
  assert.equal(n, 1);
});

test('node ID: kept under --cluster_log_path when given (relative to cwd)', () => {
  const cwd = tmp();
  const r = resolveNodeID({ nodeID: '', logPath: 'raft/a', clusterID: 'c1', cwd, generate: () => 'X1' });
  assert.equal(r.file, path.join(cwd, 'raft', 'a', NODE_ID_FILE));
  assert.equal(fs.readFileSync(r.file ?? '', 'utf8').trim(), 'X1');
});

test('node ID: a damaged file is an error naming the file, not a new identity', () => {
  const cwd = tmp();
  fs.mkdirSync(path.join(cwd, 'c1'));
  fs.writeFileSync(path.join(cwd, 'c1', NODE_ID_FILE), 'not a valid id\n');
  assert.throws(() => resolveNodeID({ nodeID: '', logPath: '', clusterID: 'c1', cwd, generate: () => 'X' }), /invalid node ID "not a valid id" \(.*node_id\)/);
});

test('node ID: an unwritable log path says what to do', () => {
  const cwd = tmp();
  fs.writeFileSync(path.join(cwd, 'file'), '');
  assert.throws(() => resolveNodeID({ nodeID: '', logPath: 'file/sub', clusterID: 'c1', cwd, generate: () => 'X' }),
    /cannot keep the generated node ID in .*make --cluster_log_path writable or give --cluster_node_id/);
});
