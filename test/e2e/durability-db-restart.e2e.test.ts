/**
 * Database restart under load (issue 3, "How it is checked"), on a private PostgreSQL
 * instance: while a client publishes continuously the database stops for about two seconds
 * and starts again. Publishes during the outage get error PubAcks (or time out); the server
 * neither crashes nor needs help to reconnect; publishing works again afterwards; nothing
 * acknowledged is lost. (A publish that got an error may still be stored later: the store
 * keeps and retries the rows of a failed commit, at-least-once. So the check is "every acked
 * message is stored exactly once", not "no unacked message is stored".)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type Logger, type ServerHandle } from '../../src/index';
import { startPostgres, type PgInstance } from '../helpers/db';
import { close, connect, opts, publish, sleep, subscribe, until } from '../helpers/stan';
import { assertAckedExactlyOnce, publishAsync, readAll } from '../helpers/durability';

let pg: PgInstance | undefined;
let s: ServerHandle | undefined;
after(async () => {
  await s?.close().catch(() => undefined);
  await pg?.destroy().catch(() => undefined);
});

test('Postgres stops for 2 s under publish load: error PubAcks, reconnect, nothing acked lost', async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase();
  const errors: string[] = [];
  const notices: string[] = [];
  s = await startServer({
    streaming: {
      clusterID: 'dbr',
      storeType: 'SQL',
      sql: { driver: 'postgres', source: url, noCaching: false, maxOpenConns: 4, bulkInsertLimit: 0, autoMigrate: true },
    },
    nats: { port: 0 },
    logger: {
      isTrace: false,
      isDebug: false,
      trace: () => undefined,
      debug: () => undefined,
      notice: (l: string) => notices.push(l),
      warn: () => undefined,
      error: (l: string) => errors.push(l),
      fatal: (l: string) => errors.push(l),
    } satisfies Logger,
  });
  const sc = await connect(s.natsURL, 'dbr', 'dbr-pub', { ackTimeout: 4000, maxPubAcksInflight: 200 });
  let stop = false;
  let acks = 0;
  let firstAckAfterRestart = -1;
  let restarted = false;
  const load = publishAsync(sc, 'dbr.ch', 1_000_000, {
    window: 50,
    ratePerSec: 1500,
    payload: (i) => `dbr-${i}`,
    stop: () => stop,
    onAck: () => {
      acks++;
      if (restarted && firstAckAfterRestart < 0) firstAckAfterRestart = acks;
    },
  });
  await until(() => acks >= 1000, 10000, '1000 PubAcks before the outage');
  const beforeOutage = acks;
  // A start-at-time subscription reads through the store's reader pool: it keeps an idle
  // connection there, which the database's shutdown terminates (that error must not crash us).
  const reader = await connect(s.natsURL, 'dbr', 'dbr-reader');
  await subscribe(reader, 'dbr.ch', opts(reader, (o) => o.setStartAtTimeDelta(200).setMaxInFlight(1)));
  await close(reader);
  await pg.stop();
  await sleep(2000);
  await pg.restart();
  restarted = true;
  // The server reconnects by itself and publishing works again.
  await until(() => firstAckAfterRestart > 0 && acks >= firstAckAfterRestart + 1000, 20000, 'PubAcks after the database is back');
  stop = true;
  const res = await load;
  assert.ok(res.failed.size > 0, 'publishes during the outage got errors or timed out');
  assert.ok(beforeOutage >= 1000);
  // A synchronous publish works too.
  await publish(sc, 'dbr.ch', 'final');
  res.acked.add('final');
  await close(sc);
  assert.ok(errors.some((l) => /Unable to store messages|Store error/.test(l)), `errors logged: ${errors.slice(0, 3).join(' | ')}`);
  // One incident, not one line per 200 ms retry: its first error, and its end.
  for (const prefix of ['Store error', 'Unable to store messages']) {
    const lines = errors.filter((l) => l.startsWith(prefix));
    assert.ok(lines.length <= 4, `${prefix}: ${lines.length} lines\n${lines.join('\n')}`);
  }
  assert.ok(errors.some((l) => l.startsWith('Store error: ')), errors.slice(0, 5).join('\n'));
  assert.ok(notices.some((l) => /^Store working again after \d+ error\(s\) over [\d.]+ s$/.test(l)), notices.filter((l) => /Store/.test(l)).join('\n'));

  // Every acked message stored exactly once, read back through the server…
  const stored = s.server.core.channels.get('dbr.ch')?.store.msgs.msgCount ?? 0;
  const all = await readAll(s.natsURL, 'dbr', 'dbr.ch', stored, 30000);
  assertAckedExactlyOnce(all, res.acked);
  // …and after a restart of the server on the recovered database.
  await s.close();
  s = await startServer({
    streaming: {
      clusterID: 'dbr',
      storeType: 'SQL',
      sql: { driver: 'postgres', source: url, noCaching: false, maxOpenConns: 4, bulkInsertLimit: 0, autoMigrate: false },
    },
    nats: { port: 0 },
  });
  assert.equal(s.server.core.channels.get('dbr.ch')?.store.msgs.msgCount, stored);
  const again = await readAll(s.natsURL, 'dbr', 'dbr.ch', stored, 30000);
  assertAckedExactlyOnce(again, res.acked);
  console.log(`# acked ${res.acked.size}, failed ${res.failed.size} (${[...new Set(res.failed.values())].join('; ').slice(0, 200)}), stored ${stored}`);
  await s.close();
});
