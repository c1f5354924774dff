/** Maps stored server/client records to the model (shared by the FILE and SQL readers). */
import type { ReferenceClient, ReferenceServerInfo } from './model';
import type { StoredClientInfo, StoredServerInfo } from './records';

export function toServerInfo(s: StoredServerInfo): ReferenceServerInfo {
  return {
    clusterId: s.clusterId,
    discoverSubject: s.discovery,
    publishSubject: s.publish,
    subscribeSubject: s.subscribe,
    unsubscribeSubject: s.unsubscribe,
    closeSubject: s.close,
    subCloseSubject: s.subClose,
    ackSubject: s.acks,
    nodeId: s.nodeId,
  };
}

export function toClient(c: StoredClientInfo): ReferenceClient {
  return { ...c };
}
