/**
 * Starts our STAN server in-process on an ephemeral port, for integration tests.
 *
 * The same behaviour suite runs against every store and both NATS modes, chosen by the
 * environment (test/run-all.sh sets them per matrix entry):
 *   STAN_TEST_STORE = memory (default) | file | postgres | mysql
 *   STAN_TEST_NATS  = embedded (default) | external   (a real nats-server per test process)
 * A test that passes an explicit storeType / natsServerURL keeps it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, EmbeddedServerConfig, ServerHandle } from '../../src/index';
import { tsxSqliteWriter } from './sqlite-writer';
import type { StreamingOptions } from '../../src/config/options';

let counter = 0;

export type TestStore = 'memory' | 'file' | 'postgres' | 'mysql';

export function testStore(): TestStore {
  const v = (process.env.STAN_TEST_STORE ?? 'memory').toLowerCase();
  if (v === 'memory' || v === 'file' || v === 'postgres' || v === 'mysql') return v;
  throw new Error(`STAN_TEST_STORE=${v}: expected memory, file, postgres or mysql`);
}

export function testNatsMode(): 'embedded' | 'external' {
  return process.env.STAN_TEST_NATS === 'external' ? 'external' : 'embedded';
}

let externalNats: Promise<{ url: string; stop(): Promise<void> }> | undefined;

async function sharedExternalNats(): Promise<string> {
  if (externalNats === undefined) {
    externalNats = (async () => {
      const { RealNatsServer } = await import('./nats-server');
      const s = await RealNatsServer.start();
      // The nats-server child must neither keep the test process alive nor outlive it.
      const child = s.proc?.child;
      child?.unref();
      for (const stream of [child?.stdout, child?.stderr]) (stream as { unref?: () => void } | null | undefined)?.unref?.();
      process.once('exit', () => child?.kill('SIGKILL'));
      return { url: s.url, stop: () => s.stop() };
    })();
  }
  return (await externalNats).url;
}

/** Store options for the selected store; a fresh directory or database per server. */
export async function storeOptionsFor(store: TestStore): Promise<Partial<StreamingOptions>> {
  switch (store) {
    case 'memory':
      return {};
    case 'file':
      return { storeType: 'FILE', filestoreDir: fs.mkdtempSync(path.join(os.tmpdir(), 'stan-file-')) };
    case 'postgres':
    case 'mysql': {
      const { testDatabase } = await import('./db');
      const db = await testDatabase(store === 'postgres' ? 'postgres' : 'mariadb', 'stan');
      const base = { storeType: 'SQL' as const };
      return { ...base, sql: { driver: store, source: db.url, noCaching: false, maxOpenConns: 4, bulkInsertLimit: 0, autoMigrate: true } };
    }
  }
}

export async function startTestServer(cfg: EmbeddedServerConfig = {}): Promise<ServerHandle> {
  counter++;
  const streaming: Partial<StreamingOptions> = { clusterID: `tc-${process.pid}-${counter}` };
  if (cfg.streaming?.storeType === undefined) Object.assign(streaming, await storeOptionsFor(testStore()));
  if (cfg.streaming?.natsServerURL === undefined && testNatsMode() === 'external') {
    streaming.natsServerURL = await sharedExternalNats();
  }
  return startServer({
    // In-process servers run the .ts sources: the FILE store's write thread too.
    spawnSqliteWriter: tsxSqliteWriter,
    ...cfg,
    streaming: { ...streaming, ...cfg.streaming },
    nats: { port: 0, ...cfg.nats },
  });
}
