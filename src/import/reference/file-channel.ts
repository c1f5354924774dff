/**
 * One FILE-store channel: its logical range after the reference's startup limits (§2.7
 * "Then the reference applies the channel limits"), and its messages streamed slice by slice.
 */
import { crc32 } from './crc32';
import { ReferenceDamageError, type DamageKind, type SkippedRecord } from './errors';
import { RandomAccessFile, RECORD_HEADER_LEN } from './file-framing';
import { FILE_MSG_OVERHEAD, sliceEntries, type FileReadSettings, type SliceSummary } from './file-slices';
import type { ChannelLimits, ReferenceMessage } from './model';
import { PayloadOpener } from './payload-opener';
import { decodeMsg } from './records';

export interface ChannelRange {
  readonly first: number;
  readonly last: number;
}

/** first..last over the slices that hold messages; 0/0 when none does (§2.7). */
export function physicalRange(slices: readonly SliceSummary[]): ChannelRange & { count: number; bytes: number } {
  const used = slices.filter((s) => s.count > 0);
  if (used.length === 0) return { first: 0, last: 0, count: 0, bytes: 0 };
  return {
    first: Math.min(...used.map((s) => s.first)),
    last: Math.max(...used.map((s) => s.last)),
    count: used.reduce((a, s) => a + s.count, 0),
    bytes: used.reduce((a, s) => a + s.bytes, 0),
  };
}

async function* allEntries(slices: readonly SliceSummary[]): AsyncGenerator<{ seq: number; size: number; timestamp: bigint }> {
  for (const s of slices) if (s.count > 0) yield* sliceEntries(s);
}

/**
 * MaxMsgs/MaxBytes (never dropping the last message), then MaxAge (which can drop all: then
 * first = last + 1), walking the entries from the front without holding them.
 */
export async function applyFileLimits(slices: readonly SliceSummary[], limits: ChannelLimits | undefined, nowNs: bigint): Promise<ChannelRange> {
  const r = physicalRange(slices);
  if (limits === undefined || r.count === 0) return { first: r.first, last: r.last };
  let { first, count, bytes } = r;
  const over = (): boolean => count > 1 && ((limits.maxMsgs > 0 && count > limits.maxMsgs) || (limits.maxBytes > 0 && bytes > limits.maxBytes));
  if (over()) {
    for await (const e of allEntries(slices)) {
      if (!over()) break;
      if (e.seq < first) continue;
      count--;
      bytes -= e.size + FILE_MSG_OVERHEAD;
      first = e.seq + 1;
    }
  }
  if (limits.maxAgeNs > 0n) {
    for await (const e of allEntries(slices)) {
      if (e.seq < first) continue;
      if (nowNs - e.timestamp < limits.maxAgeNs) break;
      first = e.seq + 1;
    }
  }
  return { first, last: r.last };
}

/** A damaged record: what kind, and the detail for the error or the skipped list. */
export interface RecordDamage {
  readonly kind: DamageKind;
  readonly detail: string;
}

/**
 * Checks a record read at an index entry's offset (`rec`: header and payload, possibly cut
 * short by the end of the file) against the entry's size and the record's CRC. Returns the
 * payload, or what is wrong with it.
 */
export function checkRecord(rec: Buffer, entrySize: number, s: FileReadSettings, idxPath: string): Buffer | RecordDamage {
  if (rec.length < RECORD_HEADER_LEN) return { kind: 'index-mismatch', detail: `${idxPath} points past the end of the data file` };
  const size = rec.readUInt32LE(0);
  const crc = rec.readUInt32LE(4);
  if (size !== entrySize) return { kind: 'index-mismatch', detail: `record size ${size} differs from the index entry's ${entrySize} (${idxPath})` };
  const payload = rec.subarray(RECORD_HEADER_LEN);
  if (payload.length < size) return { kind: 'truncated', detail: `record of ${size} bytes cut short by the end of the file` };
  if (s.verifyCrc) {
    const computed = crc32(payload, s.crcPolynomial);
    if (computed !== crc) return { kind: 'bad-crc', detail: `message record CRC mismatch (stored ${crc}, computed ${computed})` };
  }
  return payload;
}

export function seqMismatch(recordSeq: number, entrySeq: number, idxPath: string): string {
  return `record holds seq ${recordSeq} where ${idxPath} says ${entrySeq}`;
}

/**
 * Streams `range` from the slices. Each record is checked against its index entry (size, CRC
 * when verification is on, seq); damage throws or, in skip mode, is listed and left out.
 */
export async function* streamFileMessages(
  channel: string,
  slices: readonly SliceSummary[],
  range: ChannelRange,
  s: FileReadSettings,
  opener: PayloadOpener,
  skipped: SkippedRecord[],
): AsyncGenerator<ReferenceMessage> {
  for (const slice of slices) {
    if (slice.count === 0 || slice.last < range.first || slice.first > range.last) continue;
    const dat = await RandomAccessFile.open(slice.datPath);
    try {
      for await (const e of sliceEntries(slice)) {
        if (e.seq < range.first) continue;
        if (e.seq > range.last) break;
        const at = { kind: 'file' as const, file: slice.datPath, offset: e.offset };
        const damaged = (kind: DamageKind, detail: string): void => {
          if (!s.skipDamaged) throw new ReferenceDamageError(kind, at, detail, e.seq);
          skipped.push({ channel, damage: kind, at, detail, seq: e.seq });
        };
        // Header and payload in one read (the index gives the size): one await per record.
        const checked = checkRecord(await dat.read(e.offset, RECORD_HEADER_LEN + e.size), e.size, s, slice.idxPath);
        if (!(checked instanceof Uint8Array)) {
          damaged(checked.kind, checked.detail);
          continue;
        }
        const payload = checked;
        let m;
        try {
          m = decodeMsg(payload);
        } catch (err) {
          damaged('bad-record', `message record does not decode: ${(err as Error).message}`);
          continue;
        }
        if (m.sequence !== e.seq) {
          damaged('index-mismatch', seqMismatch(m.sequence, e.seq, slice.idxPath));
          continue;
        }
        const data = opener.open(channel, m.sequence, m.data, at, skipped);
        if (data === undefined) continue;
        yield { seq: m.sequence, timestamp: m.timestamp, subject: m.subject, reply: m.reply, data };
      }
    } finally {
      await dat.close();
    }
  }
}
