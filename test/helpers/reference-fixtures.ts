/**
 * The reference-store fixtures (shared/fixtures/reference-stores, read-only) for the import
 * tests: where they are, their expected content, temp copies to damage, a directory
 * fingerprint to prove reading changed nothing, and the comparison of a reader's result with
 * expected.json (shared by the FILE unit tests and the SQL int test).
 *
 * Location: `$STAN_SHARED_DIR/fixtures/reference-stores` when set, else the copy in the
 * repository (test/fixtures/reference-stores), else `<repo>/../shared`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './proc';
import type { ChannelLimits, ReferenceStoreReader } from '../../src/import/reference';

function fixturesDir(): string {
  const env = process.env.STAN_SHARED_DIR;
  const candidates = [
    ...(env !== undefined && env !== '' ? [path.join(env, 'fixtures', 'reference-stores')] : []),
    // The copy in the repository: the README's test command works from any clone.
    path.join(REPO_ROOT, 'test', 'fixtures', 'reference-stores'),
    path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'reference-stores'),
  ];
  for (const c of candidates) if (fs.existsSync(path.join(c, 'expected.json'))) return c;
  throw new Error(`reference-store fixtures not found (looked in ${candidates.join(', ')}): restore test/fixtures/reference-stores or set STAN_SHARED_DIR`);
}

export const FIXTURES = fixturesDir();
export const FIXTURE_KEY = 'fixture-key';
export type Variant = 'file' | 'file-encrypted' | 'postgres' | 'mysql';

export interface ExpectedSub {
  channel: string;
  client_id: string;
  durable_name: string;
  queue_group: string;
  is_durable: boolean;
  is_offline: boolean;
  is_shadow: boolean;
  inbox: string;
  ack_inbox: string;
  max_inflight: number;
  ack_wait_s: number;
  last_sent: number;
  pending: number[];
}

export interface ExpectedVariant {
  clients: { id: string; hb_inbox: string }[];
  channels: Record<string, { first_seq: number; last_seq: number; msgs: number; messages: { seq: number; data: string; timestamp_ns: string }[] }>;
  subscriptions: ExpectedSub[];
}

export interface Expected {
  cluster_id: string;
  absent_channels: string[];
  absent_clients: string[];
  variants: Record<Variant, ExpectedVariant>;
}

export function expected(): Expected {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Expected;
}

/** gen/fixture.conf on top of the reference defaults (max_msgs 1,000,000, max_bytes 1,024,000,000). */
export function fixtureLimits(channel: string): ChannelLimits {
  return { maxMsgs: channel === 'limited' ? 8 : 1_000_000, maxBytes: 1_024_000_000, maxAgeNs: 0n };
}

/** A writable copy of a FILE fixture in a new temp dir. */
export function copyFixture(variant: 'file' | 'file-encrypted'): string {
  const dst = fs.mkdtempSync(path.join(os.tmpdir(), `ref-${variant}-`));
  fs.cpSync(path.join(FIXTURES, variant), dst, { recursive: true });
  for (const p of listFiles(dst)) fs.chmodSync(path.join(dst, p), 0o644);
  for (const d of fs.readdirSync(dst, { withFileTypes: true })) if (d.isDirectory()) fs.chmodSync(path.join(dst, d.name), 0o755);
  return dst;
}

/** Relative paths of every file and directory under `dir`, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** Every entry (files and directories) with a content hash, size, mode and mtime. */
export function fingerprint(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      const st = fs.statSync(path.join(dir, r));
      if (e.isDirectory()) {
        m.set(r + '/', `dir ${st.mode} ${st.mtimeMs}`);
        walk(r);
      } else {
        m.set(r, `${createHash('sha256').update(fs.readFileSync(path.join(dir, r))).digest('hex')} ${st.size} ${st.mode} ${st.mtimeMs}`);
      }
    }
  };
  walk('');
  return m;
}

const utf8 = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Asserts that a reader's snapshot and messages equal one variant of expected.json. */
export async function assertMatchesExpected(reader: ReferenceStoreReader, variant: Variant): Promise<void> {
  const exp = expected();
  const v = exp.variants[variant];
  const snap = reader.snapshot;
  assert.equal(snap.server.clusterId, exp.cluster_id);
  for (const [field, prefix] of [['discoverSubject', 'discover'], ['publishSubject', 'pub'], ['subscribeSubject', 'sub'], ['unsubscribeSubject', 'unsub'], ['closeSubject', 'close'], ['subCloseSubject', 'subclose'], ['ackSubject', 'ack']] as const) {
    assert.equal(snap.server[field], `_STAN.${prefix}.${exp.cluster_id}`);
  }
  assert.equal(snap.server.nodeId, '');
  assert.equal(snap.clustered, false);
  assert.deepEqual(
    snap.clients.map((c) => ({ id: c.id, hb_inbox: c.hbInbox })).sort((a, b) => a.id.localeCompare(b.id)),
    [...v.clients].sort((a, b) => a.id.localeCompare(b.id)),
  );
  for (const c of snap.clients) assert.equal(c.protocol, 1);
  assert.deepEqual(snap.channels.map((c) => c.name).sort(), Object.keys(v.channels).sort());
  for (const ch of snap.channels) {
    const e = v.channels[ch.name];
    assert.deepEqual({ first: ch.firstSeq, last: ch.lastSeq, msgs: ch.msgCount }, { first: e.first_seq, last: e.last_seq, msgs: e.msgs }, `channel ${ch.name}`);
    const got: { seq: number; data: string; timestamp_ns: string }[] = [];
    for await (const m of reader.messages(ch.name)) {
      assert.equal(m.subject, ch.name);
      assert.equal(m.reply, '');
      got.push({ seq: m.seq, data: utf8(m.data), timestamp_ns: m.timestamp.toString() });
    }
    assert.deepEqual(got, e.messages, `messages of ${ch.name}`);
  }
  const key = (s: { channel: string; client_id: string; durable_name: string; queue_group: string }): string => `${s.channel}|${s.client_id}|${s.durable_name}|${s.queue_group}`;
  const subs = snap.channels.flatMap((ch) =>
    ch.subscriptions.map((s) => ({
      channel: ch.name,
      client_id: s.clientId,
      durable_name: s.durableName,
      queue_group: s.queueGroup,
      is_durable: s.isDurable,
      is_offline: s.isOffline,
      is_shadow: s.kind === 'durable-queue-shadow',
      inbox: s.inbox,
      ack_inbox: s.ackInbox,
      max_inflight: s.maxInFlight,
      ack_wait_s: s.ackWaitSeconds,
      last_sent: s.lastSent,
      pending: [...s.pending],
    })),
  );
  const want = v.subscriptions.map((s) => ({
    channel: s.channel,
    client_id: s.client_id,
    durable_name: s.durable_name,
    queue_group: s.queue_group,
    is_durable: s.is_durable,
    is_offline: s.is_offline,
    is_shadow: s.is_shadow,
    inbox: s.inbox,
    ack_inbox: s.ack_inbox,
    max_inflight: s.max_inflight,
    ack_wait_s: s.ack_wait_s,
    last_sent: s.last_sent,
    pending: s.pending,
  }));
  assert.deepEqual(subs.sort((a, b) => key(a).localeCompare(key(b))), want.sort((a, b) => key(a).localeCompare(key(b))));
  for (const absent of exp.absent_channels) assert.ok(!snap.channels.some((c) => c.name === absent));
  for (const absent of exp.absent_clients) assert.ok(!snap.clients.some((c) => c.id === absent));
  assert.deepEqual(reader.skipped, []);
}
