/**
 * `nats-streaming-server import`: reads a stopped reference server's store and writes its
 * content into ours (docs/migrate-from-reference.md). This module runs the steps and maps
 * the outcome to the exit status: 0 complete, 2 complete with damaged records skipped,
 * 1 failed. The steps themselves live in the modules named below.
 */
import { loadOptions } from '../config/load';
import type { ServerOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import { limitsResolver } from '../store/limits/limits';
import type { Store } from '../store/contract';
import { IMPORT_USAGE, splitImportArgs, type ImportFlags } from './args';
import { ImportError } from './errors';
import { ImportProgress } from './progress';
import { describeLocation, type ChannelLimits, type ReferenceSnapshot, type ReferenceStoreReader } from './reference';
import { planImport, sourceFingerprint } from './resume';
import { openSource, validateSourceFlags, type OpenedSource } from './source';
import { formatSummary, type ChannelSummary } from './summary';
import { checkTargetOptions, openTarget } from './target';
import { IMPORT_BATCH_MSGS, inLanes, messageLanes, writeMessages, writeStructure } from './writer-to-store';
import { errorText, isStanServerError } from '../errors';

export interface ImportIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** stderr is a terminal: progress bar instead of plain lines. */
  isTTY: boolean;
  now?: () => number;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_SKIPPED = 2;

function stderrLogger(io: ImportIO): Logger {
  const line = (tag: string) => (m: string): void => io.stderr(`import: ${tag}${m}\n`);
  return { notice: line(''), warn: line('warning: '), error: line('error: '), fatal: line('error: '), debug: () => undefined, trace: () => undefined, isDebug: false, isTrace: false };
}

/** The channel limits the server will run with, in the reference reader's terms. */
function referenceLimits(o: ServerOptions): (channel: string) => ChannelLimits {
  const r = limitsResolver(o.streaming.storeLimits);
  return (channel) => {
    const l = r.resolve(channel);
    return { maxMsgs: l.maxMsgs, maxBytes: l.maxBytes, maxAgeNs: BigInt(Math.round(l.maxAge)) * 1_000_000n };
  };
}

function baseSummary(snap: ReferenceSnapshot): ChannelSummary[] {
  return snap.channels.map((c) => ({
    name: c.name,
    messages: c.msgCount,
    firstSeq: c.firstSeq,
    lastSeq: c.lastSeq,
    bytes: 0,
    subscriptions: c.subscriptions.length,
    pendingAcks: c.subscriptions.reduce((n, s) => n + s.pending.length, 0),
    droppedByLimits: c.droppedByLimits,
  }));
}

/** --dry-run: every message is read (decrypted, checked) and counted; nothing is written. */
async function dryRun(reader: ReferenceStoreReader, rows: ChannelSummary[], progress: ImportProgress): Promise<void> {
  for (const row of rows) {
    let n = 0;
    for await (const m of reader.messages(row.name)) {
      row.bytes += m.data.length;
      if (++n === 10_000) {
        progress.add(n);
        n = 0;
      }
    }
    progress.add(n);
  }
}

/**
 * Opens the first message of every channel before anything is written: a wrong or missing key
 * (and damage at the start) is reported while the target is still untouched.
 */
async function preflight(reader: ReferenceStoreReader): Promise<void> {
  for (const ch of reader.snapshot.channels) {
    if (ch.msgCount === 0) continue;
    for await (const m of reader.messages(ch.name)) {
      void m;
      break;
    }
  }
}

async function importInto(store: Store, src: OpenedSource, flags: ImportFlags, rows: ChannelSummary[], io: ImportIO, log: Logger, marker: Parameters<typeof planImport>[0], fingerprint: string): Promise<boolean> {
  const snap = src.reader.snapshot;
  const recovered = await store.recover();
  const plan = planImport(marker, recovered, fingerprint, flags.resume);
  const pending = { fingerprint, source: src.describe, status: 'running' as const };
  if (plan.kind === 'complete') {
    log.notice(`the target already holds the complete import of ${src.describe}: nothing to do`);
  } else {
    if (marker === undefined) await store.writeImportMarker(pending);
    if (plan.kind === 'fresh') await writeStructure(store, snap);
    else log.notice('resuming the interrupted import');
    let total = 0;
    for (const ch of snap.channels) {
      const have = store.lookupChannel(ch.name)?.msgs.lastSeq ?? 0;
      total += Math.max(0, ch.lastSeq - Math.max(have, ch.firstSeq - 1));
    }
    const progress = new ImportProgress({ total, isTTY: io.isTTY, write: io.stderr, now: io.now });
    await inLanes(snap.channels, messageLanes(store), async (ch) => {
      const cs = store.lookupChannel(ch.name);
      if (cs === undefined) throw new ImportError(`the target lost channel "${ch.name}" during the import (max_inactivity?): import again into an empty store`);
      await writeMessages(store, src.reader, ch, cs, (_c, n) => progress.add(n));
    });
    progress.finish();
    await store.writeImportMarker({ ...pending, status: 'complete' });
  }
  for (const row of rows) {
    const m = store.lookupChannel(row.name)?.msgs;
    if (m === undefined) continue;
    row.messages = m.msgCount;
    row.firstSeq = m.firstSeq;
    row.lastSeq = m.lastSeq;
    row.bytes = m.byteCount;
  }
  return plan.kind !== 'complete';
}

export async function runImport(argv: readonly string[], io: ImportIO): Promise<number> {
  const log = stderrLogger(io);
  let src: OpenedSource | undefined;
  let store: Store | undefined;
  try {
    const { flags, rest } = splitImportArgs(argv);
    if (flags.help) {
      io.stdout(IMPORT_USAGE);
      return EXIT_OK;
    }
    const loaded = loadOptions(rest, io.env);
    if (loaded.kind !== 'run') throw new ImportError(`unexpected arguments for import: ${rest.join(' ')} (see nats-streaming-server import --help)`);
    if (loaded.positionals.length > 0) throw new ImportError(`unexpected argument ${JSON.stringify(loaded.positionals[0])} (see nats-streaming-server import --help)`);
    for (const w of loaded.warnings) log.warn(w);
    const options = loaded.options;
    validateSourceFlags(flags);

    src = await openSource(flags, { limits: referenceLimits(options), skipDamaged: flags.skipDamaged, env: io.env });
    const snap = src.reader.snapshot;
    for (const n of snap.notices) log.notice(n);
    if (snap.clustered) {
      log.warn(
        'the source is a clustered (Raft) store: its channels and messages are imported, but clients and subscription positions live in the Raft log and are NOT imported; ' +
          'durables must be re-created at their sequence by hand (docs/migrate-from-reference.md, "Clustered deployments")',
      );
    }
    checkTargetOptions(options, snap.server.clusterId);
    const rows = baseSummary(snap);
    await preflight(src.reader);
    log.notice(`source: ${src.describe}, cluster "${snap.server.clusterId}", ${snap.channels.length} channel(s), ${snap.clients.length} client(s)`);

    if (flags.dryRun) {
      const total = rows.reduce((n, r) => n + r.messages, 0);
      const progress = new ImportProgress({ total, isTTY: io.isTTY, write: io.stderr, now: io.now });
      await dryRun(src.reader, rows, progress);
      progress.finish();
      log.notice('dry run: nothing was written');
    } else {
      // One transaction per import batch instead of io_batch_size (1,024) rows: the import
      // writes large batches and nothing waits on it (unless io_batch_size was set).
      if (!options.explicit.has('io_batch_size')) options.streaming.ioBatchSize = IMPORT_BATCH_MSGS;
      const fingerprint = sourceFingerprint(snap);
      const target = await openTarget(options, { fingerprint, source: src.describe, status: 'running' }, log);
      store = target.store;
      log.notice(`target: ${target.describe}`);
      await importInto(store, src, flags, rows, io, log, target.marker, fingerprint);
      const s = store;
      store = undefined;
      await s.close();
    }
    io.stdout(formatSummary(rows));
    // The preflight may have met (and skipped) the same record the import met again.
    const skipped = [...new Map(src.reader.skipped.map((r) => [`${r.channel}|${describeLocation(r.at)}|${r.seq ?? ''}`, r])).values()];
    if (skipped.length > 0) {
      io.stdout(`${skipped.length} damaged message record(s) skipped:\n`);
      for (const r of skipped) io.stdout(`  channel "${r.channel}"${r.seq !== undefined ? ` seq ${r.seq}` : ''}: ${r.detail} (${describeLocation(r.at)})\n`);
      return EXIT_SKIPPED;
    }
    return EXIT_OK;
  } catch (err) {
    const msg = errorText(err);
    io.stderr(`nats-streaming-server import: ${msg}\n`);
    // The server's own errors (StanServerError: import, configuration, store ...) and named
    // library errors explain themselves; anything else is unexpected.
    if (!(isStanServerError(err) || (err instanceof Error && /Error$/.test(err.name) && err.name !== 'Error'))) {
      // An unexpected failure: the stack helps a bug report.
      if (err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
    }
    return EXIT_FAILED;
  } finally {
    await store?.close().catch(() => undefined);
    await src?.close().catch(() => undefined);
  }
}
