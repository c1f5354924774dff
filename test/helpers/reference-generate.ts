/**
 * Generates reference-format FILE stores of any size with the reference-format writer
 * (src/import/reference/writer.ts), for the import's resume tests and its benchmark
 * (scripts/import-bench.ts). Never committed: made in a temp directory when needed.
 *
 * Content: `channels` channels of `messagesPerChannel` messages of `payloadBytes` bytes
 * (slices of `sliceMessages`), one registered client `gen-client` holding on every channel a
 * durable `gen-dur` at the channel's middle with a few pending seqs, and an offline durable.
 */
import { ReferenceFileStoreWriter } from '../../src/import/reference';

export interface GenerateOptions {
  channels: number;
  messagesPerChannel: number;
  payloadBytes: number;
  sliceMessages?: number;
  clusterId?: string;
  encryptionKey?: string;
}

export interface GeneratedStore {
  dir: string;
  clusterId: string;
  totalMessages: number;
}

export const GEN_T0 = 1_796_000_000_000_000_000n;

export function generateReferenceStore(dir: string, o: GenerateOptions): GeneratedStore {
  const clusterId = o.clusterId ?? 'gen-cluster';
  const w = new ReferenceFileStoreWriter(dir, o.encryptionKey !== undefined ? { encryption: { key: o.encryptionKey, cipher: 'AES' } } : {});
  const s = (x: string): string => `_STAN.${x}.GENuniqueID`;
  w.writeServerInfo({ clusterId, discovery: `_STAN.discover`, publish: s('pub'), subscribe: s('sub'), unsubscribe: s('unsub'), close: s('close'), subClose: s('subclose'), acks: s('ack'), nodeId: '' });
  w.writeClients([{ type: 1, info: { id: 'gen-client', hbInbox: '_INBOX.gen-hb', connId: Buffer.from('gen-conn'), protocol: 1, pingInterval: 5, pingMaxOut: 3 } }]);
  const payload = Buffer.alloc(o.payloadBytes, 0x61);
  const slice = o.sliceMessages ?? 250_000;
  for (let c = 0; c < o.channels; c++) {
    const ch = w.channel(`gen.${c}`);
    const n = o.messagesPerChannel;
    const mid = Math.max(1, Math.floor(n / 2));
    const sub = (id: number, clientId: string, durableName: string, lastSent: number, isClosed: boolean) => ({
      id, clientId, qGroup: '', inbox: `_INBOX.gen-${id}`, ackInbox: `_INBOX.gen-ack-${c}-${id}`, maxInFlight: 1024, ackWaitInSecs: 30, durableName, lastSent, isDurable: true, isClosed,
    });
    ch.writeSubs([
      { type: 1, state: sub(1, 'gen-client', 'gen-dur', mid, false) },
      ...[mid - 2, mid - 1, mid].filter((q) => q >= 1).map((q) => ({ type: 5 as const, id: 1, seqno: q })),
      { type: 1, state: sub(2, 'gone-client', 'gen-off', Math.min(n, 3), true) },
    ]);
    for (let q = 1; q <= n; q++) {
      if (q > 1 && (q - 1) % slice === 0) ch.newSlice();
      ch.append({ seq: q, timestamp: GEN_T0 + BigInt(c * n + q) * 1000n + 7n, data: payload });
    }
    ch.close();
  }
  return { dir, clusterId, totalMessages: o.channels * o.messagesPerChannel };
}
