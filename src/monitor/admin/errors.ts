/**
 * Errors of the admin API. Every failure answers JSON `{code, message}` (plus `parameter`
 * for a bad parameter) so scripts can branch on `code` and people can read `message`.
 */
import { StanServerError } from '../../errors';

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
  | 'not_supported'
  | 'internal';

export interface AdminErrorBody {
  code: AdminErrorCode;
  message: string;
  /** The query/path/body parameter that was rejected (code `bad_parameter`). */
  parameter?: string;
  /** The server that accepts mutating calls (code `not_active`), when known. */
  active_server?: string;
  /** The FT group whose active server accepts mutating calls (code `not_active`). */
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
