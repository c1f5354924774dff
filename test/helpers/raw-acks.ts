/**
 * Split-brain checks: raw PubMsgs with a reply inbox per guid, next to the real client, so
 * that every PubAck is seen (at most one per guid, never an error) whichever server sends it.
 */
import { createInbox, type NatsConnection } from './raw';
import { PubAckCodec, PubMsgCodec } from '../../src/protocol/codec';

/** Raw PubMsgs with a reply inbox per guid; counts every PubAck per guid. */
export class RawAckWatcher {
  readonly sentAt = new Map<string, number>();
  readonly replies = new Map<string, string[]>();
  private readonly prefix = createInbox();
  private timer: NodeJS.Timeout | undefined;
  private i = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly clusterID: string,
    private readonly clientID: string,
    private readonly connID: Uint8Array,
    private readonly channel: string,
  ) {
    nc.subscribe(`${this.prefix}.*`, {
      callback: (_e, m) => {
        const guid = m.subject.slice(this.prefix.length + 1);
        const ack = PubAckCodec.decode(m.data);
        const list = this.replies.get(guid) ?? [];
        list.push(ack.guid !== guid ? `guid mismatch ${ack.guid}` : ack.error);
        this.replies.set(guid, list);
      },
    });
  }

  start(everyMs = 15): void {
    this.timer = setInterval(() => {
      const guid = `r${++this.i}`;
      const pm = PubMsgCodec.encode({
        clientID: this.clientID,
        guid,
        subject: this.channel,
        reply: '',
        data: new TextEncoder().encode(guid),
        connID: this.connID,
        sha256: new Uint8Array(0),
      });
      this.sentAt.set(guid, performance.now());
      this.nc.publish(`_STAN.pub.${this.clusterID}.${this.channel}`, pm, { reply: `${this.prefix}.${guid}` });
    }, everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Payloads (= guids) that got a positive PubAck. */
  acked(): string[] {
    return [...this.replies].filter(([, l]) => l.length >= 1 && l.every((e) => e === '')).map(([g]) => g);
  }
}
