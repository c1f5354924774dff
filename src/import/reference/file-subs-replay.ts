/**
 * Replays a channel's `subs.dat` (reference-stores.md §2.6) into `{state, pending}` per
 * subscription ID, plus the reference's next subscription ID for the channel.
 */
import { crc32 } from './crc32';
import { ReferenceDamageError } from './errors';
import { isTruncated, RandomAccessFile, scanRecords } from './file-framing';
import { decodeSubDelete, decodeSubState, decodeSubUpdate, type StoredSubState } from './records';
import type { ReplayedSub } from './subscription-rules';

export const SUB_NEW = 1;
export const SUB_UPDATE = 2;
export const SUB_DELETE = 3;
export const SUB_ACK = 4;
export const SUB_SENT = 5;

export interface SubsReplay {
  readonly subs: ReplayedSub[];
  readonly nextId: number;
  readonly recordCount: number;
}

interface Mutable {
  state: StoredSubState;
  pending: Set<number>;
}

/** A typed record as `subs.dat` holds it (the reference-format writer uses the same shape). */
export type SubsRecord =
  | { readonly type: typeof SUB_NEW | typeof SUB_UPDATE; readonly state: StoredSubState }
  | { readonly type: typeof SUB_DELETE; readonly id: number }
  | { readonly type: typeof SUB_ACK | typeof SUB_SENT; readonly id: number; readonly seqno: number };

/** Decodes every record of a subs.dat file in order; damage is always fatal (as in the reference). */
export async function* readSubsRecords(f: RandomAccessFile, poly: number, verifyCrc: boolean): AsyncGenerator<SubsRecord> {
  for await (const r of scanRecords(f, true)) {
    if (isTruncated(r)) throw new ReferenceDamageError('truncated', { kind: 'file', file: f.path, offset: r.offset }, r.detail);
    const at = { kind: 'file' as const, file: f.path, offset: r.offset };
    if (verifyCrc && crc32(r.payload, poly) !== r.crc) throw new ReferenceDamageError('bad-crc', at, `subscription record CRC mismatch (stored ${r.crc}, computed ${crc32(r.payload, poly)})`);
    try {
      switch (r.type) {
        case SUB_NEW:
        case SUB_UPDATE:
          yield { type: r.type, state: decodeSubState(r.payload) };
          break;
        case SUB_DELETE:
          yield { type: SUB_DELETE, id: decodeSubDelete(r.payload) };
          break;
        case SUB_ACK:
        case SUB_SENT: {
          const u = decodeSubUpdate(r.payload);
          yield { type: r.type, id: u.id, seqno: u.seqno };
          break;
        }
        default:
          throw new ReferenceDamageError('bad-record', at, `unknown subscription record type ${r.type}`);
      }
    } catch (err) {
      if (err instanceof ReferenceDamageError) throw err;
      throw new ReferenceDamageError('bad-record', at, `subscription record does not decode: ${(err as Error).message}`);
    }
  }
}

/** Applies the §2.6 replay rules to a record stream. */
export async function replaySubs(records: AsyncIterable<SubsRecord>): Promise<SubsReplay> {
  const subs = new Map<number, Mutable>();
  let maxId = 0;
  let recordCount = 0;
  for await (const r of records) {
    recordCount++;
    switch (r.type) {
      case SUB_NEW:
        subs.set(r.state.id, { state: r.state, pending: new Set() });
        maxId = Math.max(maxId, r.state.id);
        break;
      case SUB_UPDATE: {
        const cur = subs.get(r.state.id);
        if (cur !== undefined) cur.state = r.state;
        else subs.set(r.state.id, { state: r.state, pending: new Set() });
        maxId = Math.max(maxId, r.state.id);
        break;
      }
      case SUB_DELETE:
        subs.delete(r.id);
        maxId = Math.max(maxId, r.id);
        break;
      case SUB_ACK:
        subs.get(r.id)?.pending.delete(r.seqno);
        break;
      case SUB_SENT: {
        const cur = subs.get(r.id);
        if (cur !== undefined) {
          cur.pending.add(r.seqno);
          if (r.seqno > cur.state.lastSent) cur.state = { ...cur.state, lastSent: r.seqno };
        }
        break;
      }
    }
  }
  return { subs: [...subs.values()], nextId: maxId + 1, recordCount };
}
