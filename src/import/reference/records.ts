/**
 * The reference's protobuf records as stored (reference-stores.md §1): decoding for the readers
 * and gogo-identical encoding for the reference-format writer. Values are as stored, before
 * any recovery rule is applied.
 */
import type { ReferenceClient } from './model';
import { fieldInt32, fieldInt64, fieldString, fieldUint, protoFields, ProtoWriter } from './protobuf-wire';

/** spb.ServerInfo (§1.4). */
export interface StoredServerInfo {
  readonly clusterId: string;
  readonly discovery: string;
  readonly publish: string;
  readonly subscribe: string;
  readonly unsubscribe: string;
  readonly close: string;
  readonly subClose: string;
  readonly acks: string;
  readonly nodeId: string;
}

/** spb.ClientInfo (§1.5): the same fields as the model's client. */
export type StoredClientInfo = ReferenceClient;

/** spb.SubState (§1.2). */
export interface StoredSubState {
  readonly id: number;
  readonly clientId: string;
  readonly qGroup: string;
  readonly inbox: string;
  readonly ackInbox: string;
  readonly maxInFlight: number;
  readonly ackWaitInSecs: number;
  readonly durableName: string;
  readonly lastSent: number;
  readonly isDurable: boolean;
  readonly isClosed: boolean;
}

/** pb.MsgProto (§1.1) as stored; `data` may hold an encryption envelope (§3). */
export interface StoredMsg {
  readonly sequence: number;
  readonly subject: string;
  readonly reply: string;
  readonly data: Uint8Array;
  readonly timestamp: bigint;
}

/** spb.SubStateUpdate (types 4/5 of subs.dat). */
export interface StoredSubUpdate {
  readonly id: number;
  readonly seqno: number;
}

const EMPTY = new Uint8Array(0);

export function decodeServerInfo(buf: Uint8Array): StoredServerInfo {
  const s = ['', '', '', '', '', '', '', '', ''];
  for (const f of protoFields(buf)) if (f.num >= 1 && f.num <= 9) s[f.num - 1] = fieldString(f);
  return { clusterId: s[0], discovery: s[1], publish: s[2], subscribe: s[3], unsubscribe: s[4], close: s[5], subClose: s[6], acks: s[7], nodeId: s[8] };
}

export function encodeServerInfo(v: StoredServerInfo): Buffer {
  const w = new ProtoWriter();
  [v.clusterId, v.discovery, v.publish, v.subscribe, v.unsubscribe, v.close, v.subClose, v.acks, v.nodeId].forEach((x, i) => w.string(i + 1, x));
  return w.finish();
}

export function decodeClientInfo(buf: Uint8Array): StoredClientInfo {
  let id = '';
  let hbInbox = '';
  let connId: Uint8Array = EMPTY;
  let protocol = 0;
  let pingInterval = 0;
  let pingMaxOut = 0;
  for (const f of protoFields(buf)) {
    if (f.num === 1) id = fieldString(f);
    else if (f.num === 2) hbInbox = fieldString(f);
    else if (f.num === 3) connId = Uint8Array.from(f.bytes);
    else if (f.num === 4) protocol = fieldInt32(f);
    else if (f.num === 5) pingInterval = fieldInt32(f);
    else if (f.num === 6) pingMaxOut = fieldInt32(f);
  }
  return { id, hbInbox, connId, protocol, pingInterval, pingMaxOut };
}

export function encodeClientInfo(v: StoredClientInfo): Buffer {
  return new ProtoWriter()
    .string(1, v.id)
    .string(2, v.hbInbox)
    .bytes(3, v.connId)
    .uint(4, v.protocol)
    .uint(5, v.pingInterval)
    .uint(6, v.pingMaxOut)
    .finish();
}

/** spb.ClientDelete / spb.SubStateDelete carry only field 1. */
export function decodeClientDelete(buf: Uint8Array): string {
  for (const f of protoFields(buf)) if (f.num === 1) return fieldString(f);
  return '';
}

export function encodeClientDelete(id: string): Buffer {
  return new ProtoWriter().string(1, id).finish();
}

export function decodeSubState(buf: Uint8Array): StoredSubState {
  const v = { id: 0, clientId: '', qGroup: '', inbox: '', ackInbox: '', maxInFlight: 0, ackWaitInSecs: 0, durableName: '', lastSent: 0, isDurable: false, isClosed: false };
  for (const f of protoFields(buf)) {
    switch (f.num) {
      case 1: v.id = fieldUint(f); break;
      case 2: v.clientId = fieldString(f); break;
      case 3: v.qGroup = fieldString(f); break;
      case 4: v.inbox = fieldString(f); break;
      case 5: v.ackInbox = fieldString(f); break;
      case 6: v.maxInFlight = fieldInt32(f); break;
      case 7: v.ackWaitInSecs = fieldInt32(f); break;
      case 8: v.durableName = fieldString(f); break;
      case 9: v.lastSent = fieldUint(f); break;
      case 10: v.isDurable = f.varint !== 0n; break;
      case 11: v.isClosed = f.varint !== 0n; break;
      default: break;
    }
  }
  return v;
}

export function encodeSubState(v: StoredSubState): Buffer {
  return new ProtoWriter()
    .uint(1, v.id)
    .string(2, v.clientId)
    .string(3, v.qGroup)
    .string(4, v.inbox)
    .string(5, v.ackInbox)
    .uint(6, BigInt.asUintN(64, BigInt(v.maxInFlight)))
    .uint(7, BigInt.asUintN(64, BigInt(v.ackWaitInSecs)))
    .string(8, v.durableName)
    .uint(9, v.lastSent)
    .bool(10, v.isDurable)
    .bool(11, v.isClosed)
    .finish();
}

export function decodeSubUpdate(buf: Uint8Array): StoredSubUpdate {
  let id = 0;
  let seqno = 0;
  for (const f of protoFields(buf)) {
    if (f.num === 1) id = fieldUint(f);
    else if (f.num === 2) seqno = fieldUint(f);
  }
  return { id, seqno };
}

export function encodeSubUpdate(v: StoredSubUpdate): Buffer {
  return new ProtoWriter().uint(1, v.id).uint(2, v.seqno).finish();
}

export function decodeSubDelete(buf: Uint8Array): number {
  for (const f of protoFields(buf)) if (f.num === 1) return fieldUint(f);
  return 0;
}

export function encodeSubDelete(id: number): Buffer {
  return new ProtoWriter().uint(1, id).finish();
}

export function decodeMsg(buf: Uint8Array): StoredMsg {
  let sequence = 0;
  let subject = '';
  let reply = '';
  let data: Uint8Array = EMPTY;
  let timestamp = 0n;
  for (const f of protoFields(buf)) {
    if (f.num === 1) sequence = fieldUint(f);
    else if (f.num === 2) subject = fieldString(f);
    else if (f.num === 3) reply = fieldString(f);
    else if (f.num === 4) data = f.bytes;
    else if (f.num === 5) timestamp = fieldInt64(f);
  }
  return { sequence, subject, reply, data, timestamp };
}

export function encodeMsg(v: StoredMsg): Buffer {
  return new ProtoWriter().uint(1, v.sequence).string(2, v.subject).string(3, v.reply).bytes(4, v.data).uint(5, v.timestamp).finish();
}
