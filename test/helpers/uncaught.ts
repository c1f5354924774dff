/**
 * Uncaught exceptions seen while `f` runs and for `settleMs` after it (node:test would report
 * them too, but against whichever test runs then): for tests that a driver's stray 'error'
 * event does not end the process.
 */
export async function uncaughtDuring(f: () => Promise<void>, settleMs = 300): Promise<Error[]> {
  const seen: Error[] = [];
  const onUncaught = (err: Error): void => {
    seen.push(err);
  };
  // Ahead of node:test's own handler, which would otherwise count it against whichever test runs.
  process.prependListener('uncaughtException', onUncaught);
  try {
    await f();
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    process.removeListener('uncaughtException', onUncaught);
  }
  return seen;
}
