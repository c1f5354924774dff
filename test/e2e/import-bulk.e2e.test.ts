/**
 * The import's bulk append with the real CLI and a real database: kill -9 while a bulk write
 * of message rows is running in the database (PostgreSQL's COPY, MariaDB's wide INSERT, seen
 * in the server's session list), then --resume: the same message rows and the same
 * /streaming/channelsz and /streaming/clientsz as an uninterrupted run.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnServer, sleep } from '../helpers/proc';
import { generateReferenceStore } from '../helpers/reference-generate';
import { messageRows, monitoringOf, newTarget, runImport, tempDir, type Target } from '../helpers/import';

/** True while the target's database runs a bulk write of message rows (another session's). */
async function bulkWriteRunning(t: Target): Promise<boolean> {
  const k = t.knex();
  try {
    if (t.kind === 'postgres') {
      const r = await k.raw("select count(*)::int as n from pg_stat_activity where state = 'active' and query like 'COPY stan_messages%'");
      return (r as { rows: Array<{ n: number }> }).rows[0].n > 0;
    }
    const [rows] = (await k.raw("select count(*) as n from information_schema.processlist where info like 'insert into stan_messages%'")) as [Array<{ n: number }>];
    return Number(rows[0].n) > 0;
  } finally {
    await k.destroy();
  }
}

for (const kind of ['postgres', 'mariadb'] as const) {
  describe(`import into ${kind}: kill -9 during a bulk write`, () => {
    test('then --resume: same message rows and monitoring as one uninterrupted run', async () => {
      const src = generateReferenceStore(tempDir('imp-bulk-'), { channels: 3, messagesPerChannel: 80_000, payloadBytes: 64, sliceMessages: 30_000 });
      const from = ['--from_dir', src.dir];
      const whole = await newTarget(kind);
      const ok = await runImport([...from, ...whole.flags]);
      assert.equal(ok.exit.code, 0, ok.proc.output);

      const cut = await newTarget(kind);
      const proc = spawnServer(['import', ...from, ...cut.flags]);
      // Wait for a bulk write in the database, then kill the import without warning.
      while (!(await bulkWriteRunning(cut).catch(() => false))) {
        assert.equal(proc.child.exitCode, null, `the import ended before a bulk write was seen: ${proc.output}`);
        await sleep(5);
      }
      proc.child.kill('SIGKILL');
      await proc.waitExit();
      assert.ok((await messageRows(cut).catch(() => [])).length < src.totalMessages, 'interrupted before the end');

      const resumed = await runImport([...from, ...cut.flags, '--resume']);
      assert.equal(resumed.exit.code, 0, resumed.proc.output);
      assert.deepEqual(await messageRows(cut), await messageRows(whole));
      assert.deepEqual(await monitoringOf(cut, src.clusterId, { settled: true }), await monitoringOf(whole, src.clusterId, { settled: true }));
    });
  });
}
