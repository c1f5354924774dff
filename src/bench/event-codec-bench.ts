/**
 * Measures the candidate encodings of a StoreEvent body (the `body` column of stan_events)
 * on a realistic mix, to decide between JSON and a compact binary encoding (issue 3, item 1):
 *
 *   json        JSON.stringify of the record without its kind (the kind has its own column);
 *               sequence arrays as numbers, Uint8Array as base64
 *   protobufjs  one message type per kind (schema below), reflection mode with runtime
 *               code generation as in src/protocol/codec.ts, sequences as packed uint64
 *   binary      the hand-written format of src/store/events/event-codec.ts (varints, run-length
 *               sequence ranges)
 *
 *   npx tsx src/bench/event-codec-bench.ts [--events N] [--rounds R]
 *   node dist/src/bench/event-codec-bench.js
 *
 * The mix models a loaded server with group commit: delivery progress is batched per
 * subscription into one MsgsSent/MsgsAcked per commit (1-100 sequences, consecutive for
 * plain subscriptions, strided for queue members, acks sometimes out of order), and they
 * dominate; subscription, client and limit events are the rest. Prints encode and decode
 * ns/event (median of the rounds) and bytes/event, for the mix and for MsgsSent alone.
 * Every decoded event is checked against the original, so a codec cannot win by being wrong.
 */
import { performance } from 'node:perf_hooks';
import { deepStrictEqual } from 'node:assert/strict';
import protobuf from 'protobufjs';
// Imported for its side effect too: it configures protobufjs for plain-number 64-bit
// integers, exactly as the server runs it.
import type { SubState } from '../protocol/codec';
import '../protocol/codec';
import { EventKind, type StoreEvent } from '../store/events/events';
import { decodeEvent, encodeEvent } from '../store/events/event-codec';

// ------------------------------------------------------------------ the workload

/** Deterministic PRNG (mulberry32) so every run and every codec sees the same events. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function nuid(r: () => number): string {
  const chars = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let s = '';
  for (let i = 0; i < 22; i++) s += chars[Math.floor(r() * chars.length)];
  return s;
}

function subState(r: () => number, id: number): SubState {
  const queue = r() < 0.4;
  const durable = r() < 0.5;
  return {
    ID: id,
    clientID: `client-${Math.floor(r() * 1000)}`,
    qGroup: queue ? (durable ? 'dur:workers' : 'workers') : '',
    inbox: `_INBOX.${nuid(r)}`,
    ackInbox: `_INBOX.${nuid(r)}`,
    maxInFlight: 1024,
    ackWaitInSecs: 30,
    durableName: durable && !queue ? 'dur' : '',
    lastSent: Math.floor(r() * 5_000_000),
    isDurable: durable,
    isClosed: false,
  };
}

function seqBatch(r: () => number, acks: boolean): number[] {
  const n = 1 + Math.floor(r() * 100);
  const base = 1_000_000 + Math.floor(r() * 5_000_000);
  const stride = r() < 0.3 ? 2 + Math.floor(r() * 3) : 1; // queue members: every k-th seq
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(base + i * stride);
  if (acks && r() < 0.2) {
    // Acks of concurrent consumers arrive a little out of order.
    for (let i = 0; i + 1 < n; i += 5) [out[i], out[i + 1]] = [out[i + 1], out[i]];
  }
  return out;
}

export function makeMix(count: number, seed = 42): StoreEvent[] {
  const r = rng(seed);
  const events: StoreEvent[] = [];
  let subID = 1;
  for (let i = 0; i < count; i++) {
    const x = r();
    const channelID = 1 + Math.floor(r() * 1000);
    if (x < 0.42) {
      events.push({ kind: EventKind.MsgsSent, channelID, subID: 1 + Math.floor(r() * 100_000), seqs: seqBatch(r, false) });
    } else if (x < 0.8) {
      events.push({ kind: EventKind.MsgsAcked, channelID, subID: 1 + Math.floor(r() * 100_000), seqs: seqBatch(r, true) });
    } else if (x < 0.87) {
      events.push({ kind: EventKind.SubCreated, channelID, sub: subState(r, subID++) });
    } else if (x < 0.9) {
      events.push({ kind: EventKind.SubUpdated, channelID, sub: subState(r, 1 + Math.floor(r() * subID)) });
    } else if (x < 0.93) {
      events.push({ kind: EventKind.SubDeleted, channelID, subID: 1 + Math.floor(r() * subID) });
    } else if (x < 0.96) {
      const connID = new Uint8Array(22);
      for (let k = 0; k < connID.length; k++) connID[k] = 33 + Math.floor(r() * 90);
      events.push({
        kind: EventKind.ClientConnected,
        clientID: `client-${Math.floor(r() * 1000)}`,
        hbInbox: `_INBOX.${nuid(r)}`,
        connID,
        protocol: 1,
        pingInterval: 5,
        pingMaxOut: 3,
      });
    } else if (x < 0.98) {
      events.push({ kind: EventKind.ClientClosed, clientID: `client-${Math.floor(r() * 1000)}` });
    } else {
      const firstSeq = 1 + Math.floor(r() * 5_000_000);
      events.push({
        kind: EventKind.MsgsExpired,
        channelID,
        firstSeq,
        removedMsgs: 1 + Math.floor(r() * 1000),
        removedBytes: Math.floor(r() * 200_000),
        lastSeq: firstSeq + 100_000,
        msgCount: 100_001,
        byteCount: 12_800_128,
      });
    }
  }
  return events;
}

// ------------------------------------------------------------------ candidates

interface Candidate {
  name: string;
  encode(e: StoreEvent): Uint8Array;
  decode(kind: EventKind, body: Uint8Array): StoreEvent;
  /** Full conversion to the plain union, for the correctness check when `decode` is lazier. */
  decodeChecked?(kind: EventKind, body: Uint8Array): StoreEvent;
}

const json: Candidate = {
  name: 'json',
  encode(e) {
    // The kind has its own column; Uint8Array fields become base64 (JSON has no bytes).
    const { kind: _kind, ...rest } = e;
    const rec: Record<string, unknown> = rest;
    if (e.kind === EventKind.ClientConnected) rec.connID = Buffer.from(e.connID).toString('base64');
    return Buffer.from(JSON.stringify(rec));
  },
  decode(kind, body) {
    const rec = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as Record<string, unknown>;
    rec.kind = kind;
    if (kind === EventKind.ClientConnected) rec.connID = new Uint8Array(Buffer.from(rec.connID as string, 'base64'));
    return rec as unknown as StoreEvent;
  },
};

const EVENTS_PROTO = `
syntax = "proto3";
package bench;
message SubState {
  uint64 ID = 1; string clientID = 2; string qGroup = 3; string inbox = 4; string ackInbox = 5;
  int32 maxInFlight = 6; int32 ackWaitInSecs = 7; string durableName = 8; uint64 lastSent = 9;
  bool isDurable = 10; bool isClosed = 11;
}
message ServerInit {
  string clusterID = 1; string discovery = 2; string publish = 3; string subscribe = 4;
  string unsubscribe = 5; string close = 6; string subClose = 7; string acksSubs = 8;
}
message ClientConnected {
  string clientID = 1; string hbInbox = 2; bytes connID = 3; int32 protocol = 4;
  int32 pingInterval = 5; int32 pingMaxOut = 6;
}
message ClientClosed { string clientID = 1; }
message ChannelCreated { uint64 channelID = 1; string name = 2; }
message ChannelDeleted { uint64 channelID = 1; }
message SubChange { uint64 channelID = 1; SubState sub = 2; }
message SubDeleted { uint64 channelID = 1; uint64 subID = 2; }
message Seqs { uint64 channelID = 1; uint64 subID = 2; repeated uint64 seqs = 3; }
message MsgsExpired {
  uint64 channelID = 1; uint64 firstSeq = 2; uint64 removedMsgs = 3; uint64 removedBytes = 4;
  uint64 lastSeq = 5; uint64 msgCount = 6; uint64 byteCount = 7;
}
message MsgStored { uint64 channelID = 1; uint64 seq = 2; uint64 timestamp = 3; uint64 size = 4; }
`;

function protobufCandidate(): Candidate {
  const root = protobuf.parse(EVENTS_PROTO, { keepCase: true }).root;
  const typeOf = (kind: EventKind): protobuf.Type => {
    switch (kind) {
      case EventKind.ServerInit:
        return root.lookupType('bench.ServerInit');
      case EventKind.ClientConnected:
        return root.lookupType('bench.ClientConnected');
      case EventKind.ClientClosed:
        return root.lookupType('bench.ClientClosed');
      case EventKind.ChannelCreated:
        return root.lookupType('bench.ChannelCreated');
      case EventKind.ChannelDeleted:
        return root.lookupType('bench.ChannelDeleted');
      case EventKind.SubCreated:
      case EventKind.SubUpdated:
        return root.lookupType('bench.SubChange');
      case EventKind.SubDeleted:
        return root.lookupType('bench.SubDeleted');
      case EventKind.MsgsSent:
      case EventKind.MsgsAcked:
        return root.lookupType('bench.Seqs');
      case EventKind.MsgRedelivered:
      case EventKind.MsgDeadLettered:
        throw new Error('max-deliveries events are not part of the benchmark mix');
      case EventKind.MsgsExpired:
        return root.lookupType('bench.MsgsExpired');
      case EventKind.MsgStored:
        return root.lookupType('bench.MsgStored');
      case EventKind.SubPositionReset:
        // Not in the benchmark's mix (a rare admin event): measured as SubDeleted's shape.
        return root.lookupType('bench.SubDeleted');
    }
  };
  const types = new Map<EventKind, protobuf.Type>();
  for (let k = EventKind.ServerInit; k <= EventKind.MsgStored; k++) types.set(k, typeOf(k));
  const subType = root.lookupType('bench.SubState');
  return {
    name: 'protobufjs',
    encode(e) {
      const t = types.get(e.kind) as protobuf.Type;
      return t.encode(e as unknown as Record<string, unknown>).finish();
    },
    decode(kind, body) {
      // Timed path, generous to protobufjs: the Message instance is used as the record
      // (proto3 defaults come from its prototype), no conversion to a plain object.
      const m = (types.get(kind) as protobuf.Type).decode(body) as unknown as Record<string, unknown>;
      m.kind = kind;
      return m as unknown as StoreEvent;
    },
    decodeChecked(kind, body) {
      const t = types.get(kind) as protobuf.Type;
      // toObject with defaults maps the Message instance to a plain record (proto3 omits
      // defaults on the wire); this is part of the real cost of using protobufjs here.
      const rec = t.toObject(t.decode(body), { defaults: true, arrays: true, bytes: Uint8Array as unknown as typeof String }) as Record<string, unknown>;
      if (kind === EventKind.SubCreated || kind === EventKind.SubUpdated) {
        rec.sub = subType.toObject(subType.fromObject(rec.sub as Record<string, unknown>), { defaults: true });
      }
      rec.kind = kind;
      return rec as unknown as StoreEvent;
    },
  };
}

const binary: Candidate = { name: 'binary', encode: encodeEvent, decode: decodeEvent };

// ------------------------------------------------------------------ measurement

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Result {
  name: string;
  encodeNs: number;
  decodeNs: number;
  bytes: number;
}

function normalise(e: StoreEvent): unknown {
  // connID may come back as Buffer or Uint8Array; compare contents only.
  if (e.kind === EventKind.ClientConnected) return { ...e, connID: Array.from(e.connID) };
  return e;
}

function measure(c: Candidate, events: StoreEvent[], rounds: number): Result {
  // Correctness first: every event must round-trip.
  const bodies = events.map((e) => c.encode(e));
  for (let i = 0; i < events.length; i++) {
    const decoded = (c.decodeChecked ?? c.decode)(events[i].kind, bodies[i]);
    deepStrictEqual(normalise(decoded), normalise(events[i]), `${c.name} round-trip of event ${i}`);
  }
  let bytes = 0;
  for (const b of bodies) bytes += b.length;

  const enc: number[] = [];
  const dec: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds + 2; r++) {
    let t0 = performance.now();
    for (const e of events) sink += c.encode(e).length;
    const te = performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < events.length; i++) sink += c.decode(events[i].kind, bodies[i]).kind;
    const td = performance.now() - t0;
    if (r >= 2) {
      // The first two rounds warm up the JIT.
      enc.push((te * 1e6) / events.length);
      dec.push((td * 1e6) / events.length);
    }
  }
  if (sink === -1) console.log('unreachable');
  return { name: c.name, encodeNs: median(enc), decodeNs: median(dec), bytes: bytes / events.length };
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

function printTable(title: string, results: Result[]): void {
  console.log(`\n${title}`);
  console.log('codec        encode ns/ev  decode ns/ev  total ns/ev  bytes/ev');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(12)} ${r.encodeNs.toFixed(0).padStart(12)}  ${r.decodeNs.toFixed(0).padStart(12)}  ${(r.encodeNs + r.decodeNs)
        .toFixed(0)
        .padStart(11)}  ${r.bytes.toFixed(1).padStart(8)}`,
    );
  }
}

function main(): void {
  const count = arg('--events', 20_000);
  const rounds = arg('--rounds', 5);
  const mix = makeMix(count);
  const candidates = [json, protobufCandidate(), binary];
  console.log(`event codec bench: ${count} events, median of ${rounds} rounds, node ${process.version}`);
  printTable('realistic mix', candidates.map((c) => measure(c, mix, rounds)));
  const sentOnly = mix.filter((e) => e.kind === EventKind.MsgsSent);
  printTable(`MsgsSent only (${sentOnly.length} events, 1-100 seqs)`, candidates.map((c) => measure(c, sentOnly, rounds)));
  const subOnly = mix.filter((e) => e.kind === EventKind.SubCreated);
  printTable(`SubCreated only (${subOnly.length} events)`, candidates.map((c) => measure(c, subOnly, rounds)));
}

if (require.main === module) main();
