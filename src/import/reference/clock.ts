/** The default clock for MaxAge decisions (callers inject their own in tests). */
export function systemNowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
