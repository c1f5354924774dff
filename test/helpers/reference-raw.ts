/**
 * Raw record dumps of a reference FILE store for the import tests, built on the reader's own
 * framing: the records exactly as stored (no recovery rules), so the reference-format writer
 * can be fed the same input and compared byte for byte.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IEEE_POLY } from '../../src/import/reference/crc32';
import { readClientsRecords, type ClientsRecord } from '../../src/import/reference/file-clients';
import { isTruncated, RandomAccessFile, scanRecords, withFile } from '../../src/import/reference/file-framing';
import { readSubsRecords, type SubsRecord } from '../../src/import/reference/file-subs-replay';
import { decodeMsg, decodeServerInfo, type StoredMsg, type StoredServerInfo } from '../../src/import/reference/records';

function collect<T>(p: string, f: (file: RandomAccessFile) => AsyncIterable<T>): Promise<T[]> {
  return withFile(p, async (file) => {
    const out: T[] = [];
    for await (const x of f(file)) out.push(x);
    return out;
  });
}

export async function rawServerInfo(dir: string): Promise<StoredServerInfo> {
  const recs = await collect(path.join(dir, 'server.dat'), (f) => scanRecords(f, false));
  const r = recs[0];
  if (r === undefined || isTruncated(r)) throw new Error('no server record');
  return decodeServerInfo(Buffer.from(r.payload));
}

export function rawClients(dir: string): Promise<ClientsRecord[]> {
  return collect(path.join(dir, 'clients.dat'), (f) => readClientsRecords(f, IEEE_POLY, true));
}

export function rawSubs(channelDir: string): Promise<SubsRecord[]> {
  return collect(path.join(channelDir, 'subs.dat'), (f) => readSubsRecords(f, IEEE_POLY, true));
}

/** Every message record of one slice file, decoded, in file order (data copied). */
export async function rawMsgs(datPath: string): Promise<StoredMsg[]> {
  const out: StoredMsg[] = [];
  for (const r of await collect(datPath, (f) => scanRecords(f, false))) {
    if (isTruncated(r)) throw new Error(`truncated ${datPath}`);
    const m = decodeMsg(r.payload);
    out.push({ ...m, data: Buffer.from(m.data) });
  }
  return out;
}

export function channelDirs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}
