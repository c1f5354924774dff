/**
 * FT bad input (issue 4): each refused at start-up with one clear line and a non-zero exit —
 * an FT group name the lease table cannot hold, FT with the MEMORY store, FT without an
 * external NATS, and a database whose schema lacks the lease migration (0002_ft_lease).
 */
import { after, before, describe, test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RealNatsServer } from '../helpers/nats-server';
import { spawnServer } from '../helpers/proc';
import { assertRefused, type FtBackend, ftStore } from '../helpers/ft';

let nats: RealNatsServer;
let dir: string;
before(async () => {
  nats = await RealNatsServer.start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-ftcfg-'));
});
after(async () => {
  await nats.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function refused(args: string[], re: RegExp): Promise<void> {
  const p = spawnServer(args);
  await p.waitExit(15000);
  assertRefused(p, re);
}

describe('FT start-up errors', () => {
  test('a group name with a space is refused', async () => {
    await refused(['-ns', nats.url, '--ft_group', 'my group', '--store', 'file', '--dir', dir], /invalid --ft_group "my group"/);
  });

  test('a 300-character group name is refused (the lease key holds 255)', async () => {
    await refused(['-ns', nats.url, '--ft_group', 'g'.repeat(300), '--store', 'file', '--dir', dir], /invalid --ft_group .*1 to 255 characters/);
  });

  test('FT with the MEMORY store is refused', async () => {
    await refused(['-ns', nats.url, '--ft_group', 'g'], /ft: only FILE or SQL stores supported in FT mode/);
  });

  test('FT without -ns and without NATS routes (a lone embedded NATS) is refused', async () => {
    await refused(['--ft_group', 'g', '--store', 'file', '--dir', dir], /ft: the servers of an FT group must share one NATS: .*-ns.*--cluster and --routes/);
  });

  test('a lease renewal interval not shorter than the lease is refused', async () => {
    await refused(
      ['-ns', nats.url, '--ft_group', 'g', '--store', 'file', '--dir', dir, '--ft_lease_ttl', '1s', '--ft_lease_renew', '1s'],
      /--ft_lease_renew .* must be shorter than --ft_lease_ttl/,
    );
  });

  const backends: FtBackend[] = ['postgres', 'mariadb'];
  for (const backend of backends) {
    test(`${backend}: a database at schema version 1 (no lease table) is refused naming 0002_ft_lease`, async () => {
      const store = await ftStore(backend, 'v1');
      try {
        await refused(['-ns', nats.url, '--ft_group', 'g', ...store.args], /0002_ft_lease/);
      } finally {
        await store.cleanup();
      }
    });
  }

  // The FILE store is the server's own SQLite file: it always migrates itself.
  test('file: a store at schema version 1 gets 0002_ft_lease applied and serves in FT mode', async () => {
    const store = await ftStore('file', 'v1');
    const p = spawnServer(['-ns', nats.url, '--ft_group', 'g', ...store.args]);
    try {
      await p.waitForLine(/applied migration 0002_ft_lease/, { timeoutMs: 15000 });
      await p.waitForLine(/ft: this server is now active/, { timeoutMs: 15000 });
      await p.waitForLine(/Streaming Server is ready/, { timeoutMs: 15000 });
    } finally {
      await p.kill();
      await store.cleanup();
    }
  });
});
