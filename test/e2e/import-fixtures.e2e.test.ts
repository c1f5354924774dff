/**
 * `nats-streaming-server import` of every reference fixture (FILE, encrypted FILE, PostgreSQL
 * and MariaDB dumps) into every target store (FILE, PostgreSQL, MariaDB): the real CLI
 * imports, the real server starts on the target, and the real node-nats-streaming client and
 * the monitoring endpoints see what the reference itself showed (expected.json): channels
 * with their first/last sequence and messages (payload, timestamp), subscriptions with
 * their positions and pending counts, durables resuming under their client ID and name with
 * their pending messages redelivered then the later ones, the durable queue group's shadow.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startServerProc, type Proc } from '../helpers/proc';
import { close, Collector, connect, publish, subscribe, type Stan } from '../helpers/stan';
import { expected, type Variant } from '../helpers/reference-fixtures';
import { FIXTURE_CONF, fixtureSource, getJson, newTarget, runImport, type TargetKind } from '../helpers/import';

interface Subz { client_id: string; inbox: string; ack_inbox: string; durable_name?: string; queue_name?: string; is_durable: boolean; is_offline: boolean; max_inflight: number; ack_wait: number; last_sent: number; pending_count: number }
interface Channelz { channels: Array<{ name: string; msgs: number; first_seq: number; last_seq: number; subscriptions?: Subz[] }> }

const E = expected();
const VARIANTS: Variant[] = ['file', 'file-encrypted', 'postgres', 'mysql'];
const TARGETS: TargetKind[] = ['file', 'postgres', 'mariadb'];

async function startOn(flags: string[]): Promise<{ proc: Proc; url: string; mport: number }> {
  const mport = await freePort();
  const s = await startServerProc([...flags, '-sc', FIXTURE_CONF, '-cid', E.cluster_id, '-m', String(mport), '-hbi', '500ms', '-hbt', '500ms', '-hbf', '2']);
  return { proc: s.proc, url: s.url, mport };
}

function subKey(s: { client_id: string; queue: string; durable: string }): string {
  return `${s.client_id}|${s.queue}|${s.durable}`;
}

async function checkMonitoring(variant: Variant, mport: number): Promise<void> {
  const exp = E.variants[variant];
  const cz = await getJson<Channelz>(mport, '/streaming/channelsz?subs=1');
  const byName = new Map(cz.channels.map((c) => [c.name, c]));
  assert.deepEqual([...byName.keys()].sort(), Object.keys(exp.channels).sort());
  for (const [name, ch] of Object.entries(exp.channels)) {
    const got = byName.get(name);
    assert.deepEqual([got?.first_seq, got?.last_seq, got?.msgs], [ch.first_seq, ch.last_seq, ch.msgs], `channel ${name}`);
  }
  const got = new Map<string, Subz>();
  for (const c of cz.channels) for (const s of c.subscriptions ?? []) got.set(`${c.name}/${subKey({ client_id: s.client_id, queue: s.queue_name ?? '', durable: s.durable_name ?? '' })}`, s);
  assert.equal(got.size, exp.subscriptions.length, `subscriptions: ${[...got.keys()].join(', ')}`);
  for (const s of exp.subscriptions) {
    const queue = s.queue_group === '' ? '' : s.is_durable ? `${s.durable_name}:${s.queue_group}` : s.queue_group;
    const key = `${s.channel}/${subKey({ client_id: s.client_id, queue, durable: queue === '' ? s.durable_name : '' })}`;
    const g = got.get(key);
    assert.ok(g !== undefined, `subscription ${key} missing (have ${[...got.keys()].join(', ')})`);
    // Our monitoring reports a queue member's last_sent as its group's (the highest of the
    // members'); the reference reports each member's own. The group's position is what matters.
    const lastSent = queue === '' ? s.last_sent : Math.max(...exp.subscriptions.filter((x) => x.channel === s.channel && x.queue_group === s.queue_group).map((x) => x.last_sent));
    assert.deepEqual(
      [g.inbox, g.ack_inbox, g.is_durable, g.is_offline, g.max_inflight, g.ack_wait, g.last_sent, g.pending_count],
      [s.inbox, s.ack_inbox, s.is_durable, s.is_offline, s.max_inflight, s.ack_wait_s, lastSent, s.pending.length],
      key,
    );
  }
}

async function checkMessages(variant: Variant, url: string): Promise<void> {
  const exp = E.variants[variant];
  const sc = await connect(url, E.cluster_id, 'import-reader');
  try {
    for (const [name, ch] of Object.entries(exp.channels)) {
      const sub = await subscribe(sc, name, sc.subscriptionOptions().setDeliverAllAvailable());
      const col = new Collector(sub);
      const msgs = await col.waitFor(ch.messages.length, 10_000);
      assert.deepEqual(
        msgs.map((m) => [m.getSequence(), String(m.getData()), m.getTimestampRaw()]),
        ch.messages.map((m) => [m.seq, m.data, Number(BigInt(m.timestamp_ns))]),
        `messages of ${name}`,
      );
      sub.unsubscribe();
    }
  } finally {
    await close(sc);
  }
}

/** Each durable resumes: its pending messages redelivered (flag set), then the ones after its position. */
async function checkDurables(variant: Variant, url: string): Promise<void> {
  const exp = E.variants[variant];
  const opened: Stan[] = [];
  try {
    for (const s of exp.subscriptions.filter((x) => x.is_durable)) {
      const resume = (s as unknown as { resume: { as_client_id: string; redelivered_first: number[]; then_new: number[] } }).resume;
      const clientID = s.is_shadow ? 'import-dq-member' : resume.as_client_id;
      const sc = await connect(url, E.cluster_id, clientID, { connectTimeout: 10_000 });
      opened.push(sc);
      const o = sc.subscriptionOptions().setDurableName(s.durable_name).setManualAckMode(true).setAckWait(30_000);
      const sub = await subscribe(sc, s.channel, o, s.queue_group === '' ? undefined : s.queue_group);
      const col = new Collector(sub);
      const want = [...resume.redelivered_first.map((q) => [q, true]), ...resume.then_new.map((q) => [q, false])];
      const got = await col.waitFor(want.length, 10_000);
      assert.deepEqual(got.map((m) => [m.getSequence(), m.isRedelivered()]), want, `resume of ${s.channel}/${s.durable_name}`);
      // …and then a new message, after its last-sent sequence.
      const last = E.variants[variant].channels[s.channel].last_seq;
      await publish(sc, s.channel, 'after-import');
      const next = await col.waitFor(want.length + 1, 10_000);
      assert.deepEqual([next[want.length].getSequence(), String(next[want.length].getData())], [last + 1, 'after-import']);
      E.variants[variant].channels[s.channel].last_seq = last + 1;
    }
  } finally {
    for (const sc of opened) await close(sc).catch(() => undefined);
  }
}

for (const variant of VARIANTS) {
  describe(`import of the ${variant} fixture`, () => {
    for (const kind of TARGETS) {
      test(`into ${kind}: channels, messages, subscriptions and durables as the reference had them`, async () => {
        // The checks move last_seq forward (new messages): work on a fresh copy of expected.
        Object.assign(E.variants[variant], expected().variants[variant]);
        const source = await fixtureSource(variant);
        const target = await newTarget(kind);
        const imp = await runImport([...source, ...target.flags, '-sc', FIXTURE_CONF]);
        assert.equal(imp.exit.code, 0, imp.proc.output);
        assert.match(imp.proc.stdout, /^limited\s+8\s+4\s+11\s/m);
        assert.match(imp.proc.stdout, /^TOTAL\s+26\s/m);
        const srv = await startOn(target.flags);
        try {
          await checkMonitoring(variant, srv.mport);
          await checkMessages(variant, srv.url);
          await checkDurables(variant, srv.url);
        } finally {
          await srv.proc.stop();
        }
      });
    }
  });
}
