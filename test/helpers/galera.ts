/**
 * A MariaDB Galera cluster on loopback for the clustering tests: three (or more) `mariadbd`
 * nodes of the Debian packages `mariadb-server` + `galera-4`, each in its own temporary
 * directory with its own free ports (SQL, group communication, IST, SST). No Docker.
 *
 *   - `startGalera(n)` bootstraps node 0 (`--wsrep-new-cluster`), creates the admin role and
 *     the first database there, then starts the others, which receive the state by rsync SST.
 *     It resolves once every node reports `wsrep_local_state_comment = Synced`.
 *   - Each node is a `MariaInstance` (test/helpers/db.ts): `url()`, `adminQuery()`, `stop()`,
 *     `kill()` (SIGKILL), `restart()` (rejoins the others: IST, or SST when needed).
 *   - `destroy()` stops every node and removes the directories (also done at process exit).
 *
 * As root, the rsync daemon of an SST writes as the `nobody` user: the node directories are
 * made writable for it before every start.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { isRoot, lookupUser, MariaInstance } from './db';
import { freePort } from './proc';

export const GALERA_PROVIDER = process.env.GALERA_PROVIDER ?? '/usr/lib/galera/libgalera_smm.so';

interface NodePorts {
  /** Group communication (gmcast.listen_addr). */
  gcomm: number;
  /** Incremental state transfer receiver (ist.recv_addr). */
  ist: number;
  /** rsync state snapshot transfer receiver (wsrep_sst_receive_address). */
  sst: number;
}

export class GaleraNode extends MariaInstance {
  /** True until the first start of the bootstrap node: it founds the cluster only once. */
  private bootstrap: boolean;

  constructor(
    dir: string,
    password: string,
    readonly index: number,
    readonly ports: NodePorts,
    private readonly peers: () => NodePorts[],
    private readonly clusterName: string,
  ) {
    super(dir, password);
    this.bootstrap = index === 0;
  }

  get name(): string {
    return `node${this.index + 1}`;
  }

  protected override extraServerArgs(): string[] {
    const addresses = this.peers().map((p) => `127.0.0.1:${p.gcomm}`).join(',');
    const provider = [
      `gmcast.listen_addr=tcp://127.0.0.1:${this.ports.gcomm}`,
      `ist.recv_addr=127.0.0.1:${this.ports.ist}`,
      'gcache.size=64M',
      // Failure detection as docs/clustering.md advises operators for a sub-2 s failover: a
      // peer silent for 1 s is suspected and, once every other node suspects it, excluded
      // (until then every commit in the cluster waits, the lease takeover included).
      // Keepalives and checks every 250 ms so an idle live node is never silent for 1 s.
      // Galera's defaults (keepalive 1 s, check 0.5 s, suspect 5 s, inactive 15 s) made the
      // kill -9 failover 4.5-5.9 s here.
      'evs.keepalive_period=PT0.25S',
      'evs.inactive_check_period=PT0.25S',
      'evs.suspect_timeout=PT1S',
      'evs.join_retrans_period=PT0.25S',
    ].join(';');
    const args = [
      '--wsrep_on=ON',
      `--wsrep_provider=${GALERA_PROVIDER}`,
      `--wsrep_cluster_name=${this.clusterName}`,
      `--wsrep_cluster_address=gcomm://${addresses}`,
      `--wsrep_node_name=${this.name}`,
      '--wsrep_node_address=127.0.0.1',
      `--wsrep_node_incoming_address=127.0.0.1:${this.port}`,
      `--wsrep_provider_options=${provider}`,
      '--wsrep_sst_method=rsync',
      `--wsrep_sst_receive_address=127.0.0.1:${this.ports.sst}`,
      '--binlog_format=ROW',
      '--default_storage_engine=InnoDB',
      '--innodb_autoinc_lock_mode=2',
    ];
    if (this.bootstrap) args.push('--wsrep-new-cluster');
    return args;
  }

  /** Ready = answers on its socket and is a synced member of the primary component. */
  protected override async probe(): Promise<void> {
    const c = await mysql.createConnection({ socketPath: this.socketPath, user: 'root', connectTimeout: 2000 });
    c.on('error', () => undefined);
    try {
      const [rows] = await c.query("SHOW STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_ready')");
      const st = new Map((rows as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name, r.Value]));
      if (st.get('wsrep_local_state_comment') !== 'Synced' || st.get('wsrep_ready') !== 'ON') {
        throw new Error(`${this.name}: ${st.get('wsrep_local_state_comment') ?? '?'}, ready=${st.get('wsrep_ready') ?? '?'}`);
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /**
   * Hands the data directory to an SST's rsync daemon, which runs as `nobody` when we are
   * root: it must be able to write there and to set the permissions of the files it replaces
   * (files mariadbd created as root since the last SST included), so it must own them.
   */
  private async openForSst(): Promise<void> {
    fs.mkdirSync(this.dataDir, { recursive: true });
    if (!isRoot()) return;
    const nobody = lookupUser('nobody');
    fs.chmodSync(this.dir, 0o755);
    const sh = (cmd: string, args: string[]): Promise<void> =>
      new Promise((resolve, reject) => execFile(cmd, args, (err) => (err ? reject(err) : resolve())));
    if (nobody !== undefined) await sh('chown', ['-R', `${nobody.uid}:${nobody.gid}`, this.dataDir]);
    await sh('chmod', ['-R', 'u+rwX', this.dataDir]);
  }

  /** First start: node 0 is installed and founds the cluster; the others join with an empty directory. */
  async first(): Promise<void> {
    await this.openForSst();
    if (this.bootstrap) {
      await this.init(undefined);
      this.bootstrap = false;
      await this.openForSst();
      return;
    }
    await this.join(false);
  }

  override async restart(): Promise<void> {
    await this.stop();
    await this.join(true);
  }

  /**
   * Starts a joiner. After a SIGKILL the node does not know its position (no wsrep recovery
   * run here), so it takes a full SST; on a loaded machine a donor's SST occasionally fails
   * ("State transfer ... failed") and the joiner aborts: that is the database's behaviour,
   * not what the tests check, so the start is retried a few times.
   */
  private async join(fixedPort: boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.openForSst();
      try {
        await this.launch(fixedPort);
        return;
      } catch (err) {
        if (attempt >= 3 || !/State transfer .* failed|Will never receive state|SST .*failed/i.test(String(err))) throw err;
        fixedPort = true;
      }
    }
  }

  /** A status variable (`wsrep_cluster_size`, `wsrep_local_state_comment` …) as a string. */
  async status(name: string): Promise<string> {
    const c = await mysql.createConnection({ socketPath: this.socketPath, user: 'root', connectTimeout: 2000 });
    c.on('error', () => undefined);
    try {
      const [rows] = await c.query('SHOW STATUS LIKE ?', [name]);
      return (rows as Array<{ Value: string }>)[0]?.Value ?? '';
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

export interface GaleraCluster {
  nodes: GaleraNode[];
  /** Waits until every running node sees `size` members. */
  waitForSize(size: number, timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts an n-node Galera cluster (n >= 1; 3 for a cluster that survives losing one node). */
export async function startGalera(n = 3): Promise<GaleraCluster> {
  const ports: NodePorts[] = [];
  for (let i = 0; i < n; i++) ports.push({ gcomm: await freePort(), ist: await freePort(), sst: await freePort() });
  const clusterName = `stan_galera_${process.pid}`;
  const password = (await import('node:crypto')).randomBytes(12).toString('hex');
  const nodes = ports.map((p, i) => new GaleraNode(fs.mkdtempSync(path.join(os.tmpdir(), `stan-galera${i + 1}-`)), password, i, p, () => ports, clusterName));
  const cluster: GaleraCluster = {
    nodes,
    async waitForSize(size: number, timeoutMs = 60000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const running = nodes.filter((x) => x.running);
        const sizes = await Promise.all(running.map((x) => x.status('wsrep_cluster_size').catch(() => '?')));
        if (sizes.every((s) => s === String(size))) return;
        if (Date.now() > deadline) throw new Error(`Galera cluster size is ${sizes.join('/')} (wanted ${size})`);
        await sleep(100);
      }
    },
    async destroy(): Promise<void> {
      await Promise.all(nodes.map((x) => x.destroy().catch(() => undefined)));
    },
  };
  try {
    const [first, ...rest] = nodes;
    if (first === undefined) throw new Error('startGalera: n must be at least 1');
    await first.first();
    // Joiners one at a time: each takes a full SST from a donor.
    for (const node of rest) await node.first();
    await cluster.waitForSize(n);
    return cluster;
  } catch (err) {
    const logs = nodes.map((x) => `--- ${x.name} (${x.dir}):\n${x.logTail(40)}`).join('\n');
    await cluster.destroy();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
  }
}
