/**
 * The ack hot path: a catching-up subscriber sends one pb.Ack per message. protobufjs
 * decodes each into an object with a `subject` string (UTF-8 decode) that the server only
 * compares with the channel's name; here the common form is checked on the bytes instead.
 *
 * Fast form: exactly `subject` (field 1) then `sequence` (field 2, > 0), as the Go and Node
 * clients encode it. Anything else (other field order, unknown fields, a subject naming
 * another channel, a malformed body) returns ACK_NOT_FAST and the caller decodes it with
 * protobufjs as before, so errors and odd inputs keep their exact behaviour and log lines.
 */

import { readVarint, varintEnd } from './varint';

/** Returned when the body is not the fast form for this channel: decode it the slow way. */
export const ACK_NOT_FAST = -1;

/** 2^53: sequences above it are not exact in a double (the slow path decides). */
const MAX_SAFE = 9007199254740992;

/**
 * The acked sequence when `data` is `Ack{subject: <channelName>, sequence}` in the fast
 * form, ACK_NOT_FAST otherwise. `channelName` is the channel's name as UTF-8 bytes.
 */
export function fastAckSeq(data: Uint8Array, channelName: Uint8Array): number {
  const end = data.length;
  const n = channelName.length;
  if (end < 4 || data[0] !== 0x0a) return ACK_NOT_FAST;
  // Subject length: 1 or 2 varint bytes (names up to 16 KB).
  const len = readVarint(data, 1, end);
  if (len < 0 || varintEnd.pos > 3) return ACK_NOT_FAST;
  let p = varintEnd.pos;
  if (len !== n || p + n + 2 > end) return ACK_NOT_FAST;
  for (let i = 0; i < n; i++) if (data[p + i] !== channelName[i]) return ACK_NOT_FAST;
  p += n;
  if (data[p++] !== 0x10) return ACK_NOT_FAST;
  const seq = readVarint(data, p, end);
  return seq > 0 && seq < MAX_SAFE && varintEnd.pos === end ? seq : ACK_NOT_FAST;
}
