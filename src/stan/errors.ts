/**
 * Error strings sent to STAN clients, verbatim from the reference (spec §4). Clients and
 * operators match on these texts, so they are constants and never built ad hoc.
 */
export const ERR_INVALID_CONN_REQ = 'stan: invalid connection request';
export const ERR_INVALID_CLIENT_ID = 'stan: invalid clientID: only alphanumeric and `-` or `_` characters allowed';
export const ERR_CLIENT_ID_REGISTERED = 'stan: clientID already registered';
export const ERR_INVALID_PUB_REQ = 'stan: invalid publish request';
export const ERR_CHANNEL_BEING_DELETED = 'stan: channel is being deleted';
export const ERR_INVALID_SUB_REQ = 'stan: invalid subscription request';
export const ERR_MISSING_CLIENT_ID = 'stan: clientID missing';
export const ERR_INVALID_ACK_WAIT = 'stan: invalid ack wait time, should be >= 1s';
export const ERR_INVALID_MAX_IN_FLIGHT = 'stan: invalid MaxInflight, should be >= 1';
export const ERR_INVALID_START = 'stan: invalid start position';
export const ERR_INVALID_SUBJECT = 'stan: invalid subject';
export const ERR_UNKNOWN_CLIENT = 'stan: unknown clientID';
export const ERR_DURABLE_QUEUE_COLON = "stan: durable name of a durable queue subscriber can't contain the character ':'";
export const ERR_DUP_DURABLE = 'stan: duplicate durable registration';
export const ERR_INVALID_UNSUB_REQ = 'stan: invalid unsubscribe request';
export const ERR_UNKNOWN_CHANNEL = 'stan: unknown channel';
export const ERR_INVALID_SUB = 'stan: invalid subscription';
export const ERR_INVALID_CLOSE_REQ = 'stan: invalid close request';
export const ERR_CLIENT_REPLACED = 'client has been replaced or is no longer registered';

export function errChannelCaseClash(requested: string, existing: string): string {
  // "alreay" is the reference's typo; clients may match on it.
  return `rejecting channel "${requested}" because channel "${existing}" alreay exists (different cases not allowed)`;
}
