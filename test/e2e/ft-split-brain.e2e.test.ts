/**
 * FT split brain (issue 4): SIGSTOP the active for longer than the lease while clients keep
 * publishing, let the standby take over, SIGCONT the old active. The old active must write
 * nothing to the database, step down with a clear log line and exit non-zero; the new active
 * keeps serving throughout; no acknowledged message is lost or duplicated.
 *
 * And the PubAck inboxes are watched: a raw nats.js publisher sends PubMsgs with a reply inbox
 * per guid next to the real node-nats-streaming client. Both servers receive every publish;
 * each guid must get at most one PubAck, never an error PubAck (from the stale server or
 * anyone), and exactly one once the new active serves.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RealNatsServer } from '../helpers/nats-server';
import type { Proc } from '../helpers/proc';
import { rawNats, rawStanConnect, type NatsConnection } from '../helpers/raw';
import { RawAckWatcher } from '../helpers/raw-acks';
import { close } from '../helpers/stan';
import {
  checkExactlyOnce,
  connectClient,
  ContinuousPublisher,
  type FtBackend,
  ftStore,
  leaseRow,
  readChannel,
  spawnFt,
  STEP_DOWN_RE,
  storedSeqs,
  waitActive,
} from '../helpers/ft';

let nats: RealNatsServer;
before(async () => {
  nats = await RealNatsServer.start();
});
after(async () => {
  await nats.stop();
});

// Not the FILE store: a SIGSTOP that lands inside the paused active's write transaction keeps
// SQLite's file lock until the process resumes (SQLite has no idle-transaction timeout), so
// the takeover waits for the resume — documented in docs/ft.md; kill -9 failover, election and
// clean takeover are tested on FILE in the other ft-* files.
const backends: FtBackend[] = ['postgres', 'mariadb'];

describe('FT split brain: a paused active resumes after a takeover', () => {
  for (const backend of backends) {
    test(`${backend}: old active writes nothing, steps down, sends no PubAck; new active serves throughout`, async () => {
      const store = await ftStore(backend);
      const cid = `ft-sb-${backend}`;
      const group = `sb-${backend}`;
      const procs: Proc[] = [];
      let raw: NatsConnection | undefined;
      try {
        const a = await spawnFt({ natsURL: nats.url, clusterID: cid, group, store });
        procs.push(a);
        const epochA = await waitActive(a);
        const b = await spawnFt({ natsURL: nats.url, clusterID: cid, group, store });
        procs.push(b);
        const serverIdOf = (p: Proc): string => /ServerID: (\S+)/.exec(p.stdout + p.stderr)?.[1] ?? '?';

        const sc = await connectClient(nats.url, cid, 'sb-pub', { ackTimeout: 4000, maxPubAcksInflight: 2000 });
        const pub = new ContinuousPublisher(sc, 'orders', 20);
        raw = await rawNats(nats.url);
        const rc = await rawStanConnect(raw, cid, 'sb-raw');
        const watcher = new RawAckWatcher(raw, cid, 'sb-raw', rc.connID, 'orders');
        watcher.start();
        let bReadyAt = 0;
        let resumedAt = 0;
        try {
          await pub.waitAcks(200);
          const stoppedAt = performance.now();
          a.child.kill('SIGSTOP');
          const epochB = await waitActive(b, 15000);
          bReadyAt = performance.now();
          assert.equal(epochB, epochA + 1);
          console.log(`# ft split brain (${backend}): standby active ${(bReadyAt - stoppedAt).toFixed(0)} ms after SIGSTOP of the active`);
          await pub.waitAcks(100);
          // Keep A stopped well past its lease.
          const pausedFor = performance.now() - stoppedAt;
          if (pausedFor < 3000) await new Promise((r) => setTimeout(r, 3000 - pausedFor));
          const acksBeforeResume = pub.acked.size;

          resumedAt = performance.now();
          a.child.kill('SIGCONT');
          const line = await a.waitForLine(STEP_DOWN_RE, { timeoutMs: 10000 });
          console.log(`# ft split brain (${backend}): old active: ${line.replace(/^.*\] /, '')}`);
          const aExit = await a.waitExit(10000);
          assert.equal(aExit.code, 1, `the stepped-down server exits non-zero\n${a.output}`);
          assert.equal(aExit.signal, null);
          assert.ok(!/\s+at\s.*:\d+:\d+\)?$/m.test(a.stderr), `no stack trace\n${a.output}`);
          // The new active served throughout and still does.
          await pub.waitAcks(200);
          assert.ok(pub.acked.size >= acksBeforeResume + 200, `acks after the resume: ${pub.acked.size - acksBeforeResume}`);
          assert.ok(b.exit === undefined, `B still running\n${b.output}`);
        } finally {
          watcher.stop();
          await pub.stop();
          await close(sc);
        }

        const lease = await leaseRow(store.knex, group);
        assert.equal(lease?.owner, serverIdOf(b), 'the lease belongs to B');
        assert.equal(lease?.epoch, epochA + 1, 'exactly one takeover');

        // PubAck inboxes: never two answers, never an error, exactly one once B serves.
        await new Promise((r) => setTimeout(r, 300));
        const twice = [...watcher.replies].filter(([, l]) => l.length > 1);
        assert.deepEqual(twice.slice(0, 5), [], 'no guid answered twice');
        const errors = [...watcher.replies].filter(([, l]) => l.some((e) => e !== ''));
        assert.deepEqual(errors.slice(0, 5), [], 'no error PubAck');
        const mustBeAcked = [...watcher.sentAt].filter(([, t]) => t > bReadyAt + 100).map(([g]) => g);
        const unanswered = mustBeAcked.filter((g) => !watcher.replies.has(g));
        assert.deepEqual(unanswered.slice(0, 5), [], `every raw publish after the takeover answered (${mustBeAcked.length})`);
        const afterResume = [...watcher.sentAt].filter(([, t]) => t > resumedAt).length;
        assert.ok(afterResume > 20, `raw publishes while both servers ran: ${afterResume}`);

        // Nothing lost, nothing twice, and the database holds exactly what the new active serves:
        // a write by the resumed old active would show as an extra or conflicting row.
        const acked = [...pub.acked.keys(), ...watcher.acked()];
        const msgs = await readChannel(nats.url, cid, 'orders', acked.length);
        const problems = checkExactlyOnce(msgs, acked, await storedSeqs(store.knex));
        assert.deepEqual(problems, [], `acked ${acked.length}`);
      } finally {
        await raw?.close();
        for (const p of procs) {
          if (p.exit === undefined) p.child.kill('SIGCONT');
          await p.kill();
        }
        await store.cleanup();
      }
    });
  }
});
