/**
 * Copies src[start, start + n) to dst at `at` in JavaScript, four bytes per iteration: for
 * the short runs of the publish path (a PubAck's guid, a PubAck of ~24 bytes into a client's
 * output buffer) a native `set`/`copy` call costs more than the copy, and a plain byte loop
 * about twice the unrolled one (80–140 ns for 40 bytes in isolation on this Node,
 * docs/performance.md "The publish path, round 3"). Longer runs belong to `TypedArray#set`.
 */
export function copyShortBytes(dst: Uint8Array, at: number, src: Uint8Array, start: number, n: number): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    dst[at + i] = src[start + i];
    dst[at + i + 1] = src[start + i + 1];
    dst[at + i + 2] = src[start + i + 2];
    dst[at + i + 3] = src[start + i + 3];
  }
  for (; i < n; i++) dst[at + i] = src[start + i];
}
