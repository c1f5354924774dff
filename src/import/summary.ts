/** The end-of-import table: one row per channel, then totals. */
export interface ChannelSummary {
  name: string;
  messages: number;
  firstSeq: number;
  lastSeq: number;
  bytes: number;
  subscriptions: number;
  pendingAcks: number;
  /** Messages present in the source but dropped by the channel limits the server runs with. */
  droppedByLimits: number;
}

const HEAD = ['channel', 'messages', 'first', 'last', 'bytes', 'subs', 'pending', 'limit drops'];

export function formatSummary(rows: readonly ChannelSummary[]): string {
  const sum = (f: (r: ChannelSummary) => number): number => rows.reduce((n, r) => n + f(r), 0);
  const body = rows.map((r) => [r.name, r.messages, r.firstSeq, r.lastSeq, r.bytes, r.subscriptions, r.pendingAcks, r.droppedByLimits].map(String));
  const total = ['TOTAL', sum((r) => r.messages), '', '', sum((r) => r.bytes), sum((r) => r.subscriptions), sum((r) => r.pendingAcks), sum((r) => r.droppedByLimits)].map(String);
  const all = [HEAD, ...body, total];
  const widths = HEAD.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const fmt = (row: string[]): string => row.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [fmt(HEAD), rule, ...body.map(fmt), rule, fmt(total)].join('\n') + '\n';
}
