/**
 * Pure parts of `nats-streaming-server import`: its flags taken out of the server's command
 * line, the plan from marker + recovered target (fresh, continue, complete, refusals), the
 * source fingerprint, the subscription state written for each kind of reference
 * subscription, progress output (plain lines vs terminal bar, injected clock), the summary
 * table, and exact nanosecond timestamps in the stored MsgProto.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { splitImportArgs } from '../../src/import/args';
import { planImport, sourceFingerprint } from '../../src/import/resume';
import { ImportProgress } from '../../src/import/progress';
import { formatSummary } from '../../src/import/summary';
import { subStateOf } from '../../src/import/writer-to-store';
import { encodeMsgProto } from '../../src/protocol/fast';
import { decodeMsg } from '../../src/import/reference/records';
import type { ReferenceSnapshot, ReferenceSubscription } from '../../src/import/reference';
import type { RecoveredState } from '../../src/store/contract';

const SNAP: ReferenceSnapshot = {
  source: 'file',
  server: { clusterId: 'c', discoverSubject: '_STAN.discover', publishSubject: '_STAN.pub.A', subscribeSubject: 's', unsubscribeSubject: 'u', closeSubject: 'cl', subCloseSubject: 'sc', ackSubject: 'a', nodeId: '' },
  clustered: false,
  clients: [],
  channels: [],
  notices: [],
};
const RECOVERED = { info: { ClusterID: 'c' }, clients: [], channels: [] } as unknown as RecoveredState;

describe('import flags', () => {
  test('ours are taken out in Go syntax, the rest is left for the server options', () => {
    const { flags, rest } = splitImportArgs(['--from_dir', '/ref', '-store', 'file', '-dir=/t', '--from_encryption_key=k', '--from_encryption_cipher', 'AES', '--dry-run', '-resume=false', '--skip_damaged', '-sc', 'x.conf']);
    assert.deepEqual(rest, ['-store', 'file', '-dir=/t', '-sc', 'x.conf']);
    assert.equal(flags.fromDir, '/ref');
    assert.equal(flags.fromEncryptionKey, 'k');
    assert.deepEqual([flags.dryRun, flags.resume, flags.skipDamaged], [true, false, true]);
    assert.throws(() => splitImportArgs(['--from_dir']), /flag needs an argument: -from_dir/);
    assert.throws(() => splitImportArgs(['--resume=maybe']), /invalid boolean value "maybe" for -resume/);
  });
});

describe('import plan (resume)', () => {
  const fp = sourceFingerprint(SNAP);
  test('empty target: fresh; a non-empty one without a marker is refused, naming what it holds', () => {
    assert.deepEqual(planImport(undefined, null, fp, false), { kind: 'fresh' });
    assert.throws(() => planImport(undefined, RECOVERED, fp, false), /not empty: it holds cluster "c", 0 channel\(s\), 0 message\(s\), 0 client\(s\)/);
  });
  test('same source: --resume continues or finds it complete; without --resume it is refused', () => {
    const running = { fingerprint: fp, source: 'dir', status: 'running' as const };
    assert.deepEqual(planImport(running, RECOVERED, fp, true), { kind: 'continue' });
    assert.deepEqual(planImport(running, null, fp, true), { kind: 'fresh' });
    assert.deepEqual(planImport({ ...running, status: 'complete' }, RECOVERED, fp, true), { kind: 'complete' });
    assert.throws(() => planImport(running, RECOVERED, fp, false), /rerun with --resume/);
  });
  test('another source is refused, even with --resume', () => {
    const other = sourceFingerprint({ ...SNAP, server: { ...SNAP.server, publishSubject: '_STAN.pub.B' } });
    assert.notEqual(other, fp);
    assert.throws(() => planImport({ fingerprint: other, source: 'x', status: 'running' }, RECOVERED, fp, true), /another reference store/);
  });
});

describe('subscription state written for each reference kind', () => {
  const base: ReferenceSubscription = { kind: 'durable', storeId: 7, clientId: 'c1', durableName: 'd', queueGroup: '', storedQueueGroup: '', isDurable: true, isOffline: false, inbox: 'in', ackInbox: 'ack', maxInFlight: 10, ackWaitSeconds: 30, lastSent: 5, resumeFrom: 6, pending: [4, 5] };
  test('offline durable: closed, client kept; shadow: no client, group as stored; queue member: durable name inside the group', () => {
    assert.deepEqual(subStateOf({ ...base, kind: 'offline-durable', isOffline: true }), { ID: 0, clientID: 'c1', qGroup: '', inbox: 'in', ackInbox: 'ack', maxInFlight: 10, ackWaitInSecs: 30, durableName: 'd', lastSent: 5, isDurable: true, isClosed: true });
    const shadow = subStateOf({ ...base, kind: 'durable-queue-shadow', clientId: 'last-owner', queueGroup: 'g', storedQueueGroup: 'd:g', isOffline: true });
    assert.deepEqual([shadow.clientID, shadow.qGroup, shadow.durableName, shadow.isClosed], ['', 'd:g', '', false]);
    const member = subStateOf({ ...base, kind: 'durable-queue-member', queueGroup: 'g', storedQueueGroup: 'd:g' });
    assert.deepEqual([member.clientID, member.qGroup, member.durableName, member.isClosed], ['c1', 'd:g', '', false]);
  });
});

describe('progress and summary', () => {
  test('not a terminal: plain lines at most every interval, then a last line', () => {
    let t = 0;
    const out: string[] = [];
    const p = new ImportProgress({ total: 1000, isTTY: false, write: (s) => out.push(s), now: () => t, intervalMs: 2000 });
    t = 1000;
    p.add(100);
    t = 1500;
    p.add(100);
    t = 4000;
    p.add(300);
    t = 5000;
    p.finish();
    assert.deepEqual(out, [
      'import: 100/1000 messages (10%), 100 msgs/s, ETA 0:09\n',
      'import: 500/1000 messages (50%), 125 msgs/s, ETA 0:04\n',
      'import: 500 messages written in 5.0 s (100 msgs/s)\n',
    ]);
  });
  test('terminal: a bar redrawn in place', () => {
    let t = 0;
    const out: string[] = [];
    const p = new ImportProgress({ total: 10, isTTY: true, write: (s) => out.push(s), now: () => t });
    t = 1000;
    p.add(5);
    assert.match(out[0] ?? '', /^\r\[#{15}\.{15}\] 5\/10 messages \(50%\), 5 msgs\/s, ETA 0:01/);
  });
  test('summary: a row per channel and totals', () => {
    const s = formatSummary([
      { name: 'a', messages: 5, firstSeq: 1, lastSeq: 5, bytes: 50, subscriptions: 1, pendingAcks: 2, droppedByLimits: 0 },
      { name: 'limited', messages: 8, firstSeq: 4, lastSeq: 11, bytes: 80, subscriptions: 0, pendingAcks: 0, droppedByLimits: 3 },
    ]);
    assert.match(s, /^limited\s+8\s+4\s+11\s+80\s+0\s+0\s+3$/m);
    assert.match(s, /^TOTAL\s+13\s+130\s+1\s+2\s+3$/m);
  });
});

describe('exact timestamps', () => {
  test('a bigint timestamp is stored to the nanosecond; a number one as before', () => {
    for (const ts of [1_796_520_990_264_663_943n, 1n, 127n, 128n, 4_294_967_295n, 4_294_967_296n, 9_223_372_036_854_775_807n]) {
      const b = encodeMsgProto(3, 'ch', 'r', Buffer.from('x'), ts);
      assert.equal(decodeMsg(b).timestamp, ts, String(ts));
    }
    assert.deepEqual(encodeMsgProto(3, 'ch', '', Buffer.from('x'), 1_000_000n), encodeMsgProto(3, 'ch', '', Buffer.from('x'), 1_000_000));
  });
});
