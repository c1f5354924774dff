/**
 * `clients.dat` (reference-stores.md §2.4): its typed records and their replay into the set of
 * clients registered when the reference stopped. Damage here is fatal, as for the reference.
 */
import { crc32 } from './crc32';
import { ReferenceDamageError } from './errors';
import { isTruncated, RandomAccessFile, scanRecords } from './file-framing';
import { decodeClientDelete, decodeClientInfo, type StoredClientInfo } from './records';

export const CLIENT_ADD = 1;
export const CLIENT_DELETE = 2;

/** A `clients.dat` record (the reference-format writer uses the same shape). */
export type ClientsRecord = { readonly type: typeof CLIENT_ADD; readonly info: StoredClientInfo } | { readonly type: typeof CLIENT_DELETE; readonly id: string };

export async function* readClientsRecords(f: RandomAccessFile, poly: number, verifyCrc: boolean): AsyncGenerator<ClientsRecord> {
  for await (const r of scanRecords(f, true)) {
    if (isTruncated(r)) throw new ReferenceDamageError('truncated', { kind: 'file', file: f.path, offset: r.offset }, r.detail);
    const at = { kind: 'file' as const, file: f.path, offset: r.offset };
    if (verifyCrc && crc32(r.payload, poly) !== r.crc) throw new ReferenceDamageError('bad-crc', at, 'client record CRC mismatch');
    if (r.type !== CLIENT_ADD && r.type !== CLIENT_DELETE) throw new ReferenceDamageError('bad-record', at, `unknown client record type ${r.type}`);
    try {
      yield r.type === CLIENT_ADD ? { type: CLIENT_ADD, info: decodeClientInfo(r.payload) } : { type: CLIENT_DELETE, id: decodeClientDelete(r.payload) };
    } catch (err) {
      if (err instanceof ReferenceDamageError) throw err;
      throw new ReferenceDamageError('bad-record', at, `client record does not decode: ${(err as Error).message}`);
    }
  }
}

/** Add replaces, delete removes; what remains is registered. */
export async function replayClients(records: AsyncIterable<ClientsRecord>): Promise<StoredClientInfo[]> {
  const clients = new Map<string, StoredClientInfo>();
  for await (const r of records) {
    if (r.type === CLIENT_ADD) clients.set(r.info.id, r.info);
    else clients.delete(r.id);
  }
  return [...clients.values()];
}
