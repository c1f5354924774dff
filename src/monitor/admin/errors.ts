/**
 * Errors of the admin API. Every failure answers JSON `{code, message}` (plus `parameter`
 * for a bad parameter) so scripts can branch on `code` and people can read `message`.
 */
import { StanServerError } from '../../errors';
import type { AdminRole } from './operations';

/** Stable error codes of the admin API (documented in docs/admin-api.md and openapi.json). */
export type AdminErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'admin_disabled'
  | 'bad_parameter'
  | 'not_found'
  | 'method_not_allowed'
  | 'channel_not_found'
  | 'not_active'
  | 'client_not_found'
  | 'durable_not_found'
  | 'message_not_found'
  | 'channel_has_subscriptions'
  | 'not_dead_letter'
  | 'not_stored'
  | 'not_supported'
  | 'internal';

export interface AdminErrorBody {
  code: AdminErrorCode;
  message: string;
  /** The query/path/body parameter that was rejected (code `bad_parameter`). */
  parameter?: string;
  /**
   * The lease holder that accepts mutating calls (code `not_active`): FT: its server ID,
   * clustered mode: the leader's node ID; null when nobody holds the lease; absent when unknown.
   */
  active_server?: string | null;
  /** The FT group (clustered mode: the cluster ID) whose active server accepts mutating calls (code `not_active`). */
  ft_group?: string;
}

export class AdminError extends StanServerError {
  override readonly kind = 'admin-request' as const;
  constructor(
    readonly status: number,
    readonly body: AdminErrorBody,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(body.message);
    this.name = 'AdminError';
  }
}

/** 400 naming the parameter and what a valid value looks like. */
export function badParameter(parameter: string, message: string): AdminError {
  return new AdminError(400, { code: 'bad_parameter', parameter, message: `${parameter}: ${message}` });
}

/** 503 on a standby or follower: names the server that takes the call, or says why it cannot. */
export function notActive(role: AdminRole): AdminError {
  const member = role.clustered ? 'the leader' : 'the active server';
  const of = role.group === undefined ? '' : role.clustered ? ` of cluster "${role.group}"` : ` of FT group "${role.group}"`;
  const id = role.clustered ? 'node ID' : 'server ID';
  let message: string;
  if (role.takingOver === true) message = `this server holds the lease${of} and is recovering before it serves: retry in a moment`;
  else if (typeof role.activeServer === 'string') message = `this server is not ${member}${of}: send it to ${member}, ${id} "${role.activeServer}"`;
  else if (role.activeServer === null) message = `this server is not ${member}, and nobody holds the lease${of} now (a takeover is under way or no server is running): retry in a moment`;
  else message = `this server is not ${member}: send it to ${member}${of}`;
  return new AdminError(503, {
    code: 'not_active',
    message,
    ...(role.activeServer !== undefined ? { active_server: role.activeServer } : {}),
    ...(role.group !== undefined ? { ft_group: role.group } : {}),
  });
}
