/**
 * How the reference interprets recovered subscriptions at startup (reference-stores.md §2.7
 * table; §4.3 step 4 says SQL uses the same rules). Shared by the FILE and SQL readers: both
 * first rebuild `{state, pending}` per stored subscription their own way, then call this.
 */
import type { StoredSubState } from './records';
import type { ReferenceQueueGroup, ReferenceSubscription, ReferenceSubscriptionKind } from './model';

/** A subscription after replay of its store records, before interpretation. */
export interface ReplayedSub {
  readonly state: StoredSubState;
  readonly pending: ReadonlySet<number>;
}

export interface InterpretedSubs {
  readonly subscriptions: ReferenceSubscription[];
  readonly queueGroups: ReferenceQueueGroup[];
  readonly notices: string[];
}

function splitDurableQueue(qGroup: string, isDurable: boolean): { durableName: string; group: string } {
  const i = qGroup.indexOf(':');
  if (!isDurable || i < 0) return { durableName: '', group: qGroup };
  return { durableName: qGroup.slice(0, i), group: qGroup.slice(i + 1) };
}

function classify(s: StoredSubState, live: ReadonlySet<string>): ReferenceSubscriptionKind | 'ghost' | 'ignored' | 'shadow' {
  if (s.durableName !== '') return s.isClosed || !live.has(s.clientId) ? 'offline-durable' : 'durable';
  if (s.qGroup !== '' && s.isDurable) {
    if (s.clientId === '') return 'shadow';
    return live.has(s.clientId) ? 'durable-queue-member' : 'ghost';
  }
  if (!live.has(s.clientId)) return 'ignored';
  return s.qGroup !== '' ? 'queue-member' : 'plain';
}

/**
 * @param firstSeq the channel's first logical sequence: pending seqs below it are auto-acked by
 *   the reference at startup, so they are dropped here.
 */
export function interpretSubscriptions(channel: string, subs: Iterable<ReplayedSub>, liveClients: ReadonlySet<string>, firstSeq: number): InterpretedSubs {
  const notices: string[] = [];
  const kept: { kind: ReferenceSubscriptionKind; sub: ReplayedSub }[] = [];
  const shadows = new Map<string, ReplayedSub>();
  for (const sub of subs) {
    const s = sub.state;
    const kind = classify(s, liveClients);
    if (kind === 'ghost') {
      notices.push(`channel "${channel}": durable queue member ${s.id} of group "${s.qGroup}" belongs to client "${s.clientId}", which is not registered; the reference deletes it at startup, so it is not imported`);
    } else if (kind === 'ignored') {
      notices.push(`channel "${channel}": non-durable subscription ${s.id} of client "${s.clientId}", which is not registered, is ignored by the reference and not imported`);
    } else if (kind === 'shadow') {
      const prev = shadows.get(s.qGroup);
      // Several shadows of one group: the one with the highest lastSent wins (§2.7).
      if (prev === undefined || s.lastSent > prev.state.lastSent) {
        if (prev !== undefined) notices.push(`channel "${channel}": shadow ${prev.state.id} of durable queue group "${s.qGroup}" lost to shadow ${s.id} (higher last sent) and is not imported`);
        shadows.set(s.qGroup, sub);
      } else {
        notices.push(`channel "${channel}": shadow ${s.id} of durable queue group "${s.qGroup}" lost to shadow ${prev.state.id} (higher last sent) and is not imported`);
      }
    } else {
      kept.push({ kind, sub });
    }
  }
  for (const sub of shadows.values()) kept.push({ kind: 'durable-queue-shadow', sub });
  kept.sort((a, b) => a.sub.state.id - b.sub.state.id);

  const subscriptions: ReferenceSubscription[] = [];
  const groups = new Map<string, { durable: boolean; lastSent: number; ids: number[] }>();
  for (const { kind, sub } of kept) {
    const s = sub.state;
    const offline = kind === 'offline-durable' || kind === 'durable-queue-shadow';
    const { durableName, group } = s.durableName !== '' ? { durableName: s.durableName, group: '' } : splitDurableQueue(s.qGroup, s.isDurable);
    const allPending = [...sub.pending].sort((a, b) => a - b);
    const pending = allPending.filter((q) => q >= firstSeq);
    if (pending.length < allPending.length) {
      notices.push(`channel "${channel}": subscription ${s.id}: ${allPending.length - pending.length} pending seq(s) below first ${firstSeq} dropped (the reference acks them at startup)`);
    }
    subscriptions.push({
      kind,
      storeId: s.id,
      clientId: s.clientId,
      durableName,
      queueGroup: group,
      storedQueueGroup: s.qGroup,
      isDurable: s.isDurable || s.durableName !== '',
      isOffline: offline,
      inbox: s.inbox,
      ackInbox: s.ackInbox,
      maxInFlight: s.maxInFlight,
      ackWaitSeconds: s.ackWaitInSecs,
      lastSent: s.lastSent,
      resumeFrom: Math.max(s.lastSent + 1, firstSeq),
      pending,
    });
    if (s.qGroup !== '') {
      const g = groups.get(s.qGroup) ?? { durable: s.isDurable, lastSent: 0, ids: [] };
      g.lastSent = Math.max(g.lastSent, s.lastSent);
      g.ids.push(s.id);
      groups.set(s.qGroup, g);
    }
  }
  const queueGroups = [...groups].map(([storedName, g]) => ({ storedName, durable: g.durable, lastSent: g.lastSent, subscriptionIds: g.ids }));
  return { subscriptions, queueGroups, notices };
}
