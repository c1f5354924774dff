/**
 * protobufjs's minimal runtime (Reader, Writer, util: no parser, no reflection), set up for
 * the STAN codecs before the generated static code (./generated/stan-proto.ts) makes its
 * prototype defaults: 64-bit integers are plain JS numbers (Long support disabled), cheaper
 * than Long objects on every message. Sequences stay below 2^53 for centuries; nanosecond
 * timestamps (~1.8e18) are above it and carry a resolution of 256 ns, which is harmless for
 * ordering and start-by-time (see README, decisions).
 */
import * as protobuf from 'protobufjs/minimal';

(protobuf.util as { Long: unknown }).Long = undefined;
protobuf.configure();

export default protobuf;
