/**
 * Reads a reference FILE store directory (reference-stores.md §2) into the intermediate model.
 * Strictly read-only: files are opened with flag 'r'; nothing is created, locked, truncated or
 * repaired (where the reference would repair at startup, the reader computes the same result
 * in memory and says so in the notices).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32, IEEE_POLY } from './crc32';
import { ReferenceDamageError, ReferenceStoreError, type SkippedRecord } from './errors';
import { applyFileLimits, physicalRange, streamFileMessages, type ChannelRange } from './file-channel';
import { isTruncated, scanRecords, VERSION_LEN, RECORD_HEADER_LEN, withFile } from './file-framing';
import { listSlices, summarizeSlice, type FileReadSettings, type SliceSummary } from './file-slices';
import { readSubsRecords, replaySubs } from './file-subs-replay';
import type { ReferenceChannel, ReferenceClient, ReferenceMessage, ReferenceReadOptions, ReferenceSnapshot, ReferenceStoreReader } from './model';
import { PayloadOpener } from './payload-opener';
import { fileMessageBatches } from './file-batches';
import type { MessageBatch } from './msg-batch';
import { decodeServerInfo, type StoredClientInfo, type StoredServerInfo } from './records';
import { readClientsRecords, replayClients } from './file-clients';
import { interpretSubscriptions } from './subscription-rules';
import { toClient, toServerInfo } from './stored-to-model';
import { systemNowNs } from './clock';

export interface FileStoreReadOptions extends ReferenceReadOptions {
  /** The reference's `file_crc_poly` (reflected form, as Go's crc32.MakeTable); default IEEE. */
  readonly crcPolynomial?: number;
  /** The reference's `file_crc`: verify record CRCs (default true). */
  readonly verifyCrc?: boolean;
}

async function fileSize(p: string): Promise<number | undefined> {
  try {
    return (await fs.promises.stat(p)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** §2.3: exactly one ServerInfo record, the file exactly that long. */
async function readServerDat(dir: string, s: FileReadSettings): Promise<StoredServerInfo> {
  const p = path.join(dir, 'server.dat');
  const size = await fileSize(p);
  if (size === undefined || size <= VERSION_LEN) {
    throw new ReferenceStoreError(`${dir} is not an initialised reference FILE store: ${p} is ${size === undefined ? 'missing' : 'empty'} (the reference would start a new empty store here, so there is nothing to import). Check the directory given`);
  }
  return withFile(p, async (f) => {
    for await (const r of scanRecords(f, false)) {
      const at = { kind: 'file' as const, file: p, offset: r.offset };
      if (isTruncated(r)) throw new ReferenceDamageError('truncated', at, r.detail);
      if (f.size !== VERSION_LEN + RECORD_HEADER_LEN + r.size) throw new ReferenceDamageError('bad-record', at, `incorrect file size ${f.size} for one server info record of ${r.size} bytes`);
      if (s.verifyCrc && crc32(r.payload, s.crcPolynomial) !== r.crc) throw new ReferenceDamageError('bad-crc', at, 'server info record CRC mismatch');
      try {
        return decodeServerInfo(r.payload);
      } catch (err) {
        throw new ReferenceDamageError('bad-record', at, `server info record does not decode: ${(err as Error).message}`);
      }
    }
    throw new ReferenceDamageError('bad-record', { kind: 'file', file: p, offset: VERSION_LEN }, 'no server info record');
  });
}

/** §2.4 replay; a missing file means no registered clients. */
async function readClientsDat(dir: string, s: FileReadSettings, notices: string[]): Promise<StoredClientInfo[]> {
  const p = path.join(dir, 'clients.dat');
  if ((await fileSize(p)) === undefined) {
    notices.push('clients.dat is missing: no registered clients');
    return [];
  }
  return withFile(p, (f) => replayClients(readClientsRecords(f, s.crcPolynomial, s.verifyCrc)));
}

interface FileChannelState {
  readonly model: ReferenceChannel;
  readonly slices: readonly SliceSummary[];
  readonly range: ChannelRange;
}

/** Opens and recovers a reference FILE store. Messages are read later, per channel. */
export async function openReferenceFileStore(dir: string, options: FileStoreReadOptions = {}): Promise<ReferenceStoreReader> {
  // Kept whole (~85 lines): builds the reader's closures over one directory and its settings,
  // as openReferenceSqlStore does over one connection.
  const settings: FileReadSettings = {
    crcPolynomial: options.crcPolynomial ?? IEEE_POLY,
    verifyCrc: options.verifyCrc ?? true,
    skipDamaged: options.skipDamagedMessages ?? false,
  };
  const st = await fs.promises.stat(dir).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) throw new ReferenceStoreError(`${dir} is not a directory: give the reference's FILE store directory (its -dir)`);
  const notices: string[] = [];
  const skipped: SkippedRecord[] = [];
  const now = (options.now ?? systemNowNs)();

  const server = await readServerDat(dir, settings);
  const clustered = server.nodeId !== '';
  if (clustered) {
    notices.push(`clustered-mode store (node ID "${server.nodeId}"): clients, subscriptions and pending acks live in the Raft log under cluster_log_path, not in this directory, so only channels and messages can be imported`);
  }
  if ((await fileSize(path.join(dir, '.rootdir.lck'))) !== undefined) {
    notices.push('.rootdir.lck is present (FT mode): make sure no reference server is running on this directory while importing');
  }
  const storedClients = await readClientsDat(dir, settings, notices);
  const clients: ReferenceClient[] = storedClients.map(toClient);
  const live = new Set(clients.map((c) => c.id));

  const entries = await fs.promises.readdir(dir, { withFileTypes: true });
  const channelNames = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const states = new Map<string, FileChannelState>();
  for (const name of channelNames) {
    const cdir = path.join(dir, name);
    const slices: SliceSummary[] = [];
    for (const n of await listSlices(cdir)) slices.push(await summarizeSlice(name, cdir, n, settings, skipped, notices));
    const range = await applyFileLimits(slices, options.limits?.(name), now);
    const subsPath = path.join(cdir, 'subs.dat');
    const replay = (await fileSize(subsPath)) === undefined
      ? { subs: [], nextId: 1, recordCount: 0 }
      : await withFile(subsPath, (f) => replaySubs(readSubsRecords(f, settings.crcPolynomial, settings.verifyCrc)));
    const interpreted = interpretSubscriptions(name, replay.subs, live, range.first);
    notices.push(...interpreted.notices);
    const msgCount = range.last >= range.first && range.last > 0 ? range.last - range.first + 1 : 0;
    const physical = physicalRange(slices);
    const present = physical.last >= physical.first && physical.last > 0 ? physical.last - physical.first + 1 : 0;
    states.set(name, {
      slices,
      range,
      model: {
        name,
        firstSeq: range.first,
        lastSeq: range.last,
        msgCount,
        droppedByLimits: Math.max(0, present - msgCount),
        storedLimits: undefined,
        subscriptions: interpreted.subscriptions,
        queueGroups: interpreted.queueGroups,
        nextSubscriptionId: replay.nextId,
      },
    });
  }

  const snapshot: ReferenceSnapshot = {
    source: 'file',
    server: toServerInfo(server),
    clustered,
    clients,
    channels: [...states.values()].map((c) => c.model),
    notices,
  };
  const opener = new PayloadOpener(options.encryptionKey, settings.skipDamaged);
  return {
    snapshot,
    skipped,
    messages(channel: string): AsyncIterable<ReferenceMessage> {
      const c = states.get(channel);
      if (c === undefined) throw new ReferenceStoreError(`channel "${channel}" is not in the reference store ${dir}`);
      return streamFileMessages(channel, c.slices, c.range, settings, opener, skipped);
    },
    batches(channel: string, fromSeq: number, maxMsgs: number, maxBytes: number): AsyncIterable<MessageBatch> {
      const c = states.get(channel);
      if (c === undefined) throw new ReferenceStoreError(`channel "${channel}" is not in the reference store ${dir}`);
      return fileMessageBatches(c.slices, c.range, fromSeq, { channel, settings, opener, skipped }, maxMsgs, maxBytes);
    },
  };
}
