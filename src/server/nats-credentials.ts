/**
 * Credentials of the streaming server's own connection to an external NATS server (`-ns`).
 *
 * As the reference: the streaming keys `username`/`password`/`token` win; otherwise the
 * embedded server's `--user/--pass/--auth` (or `authorization { user, password, token }`)
 * are used, so one set of flags works for both modes (spec stan §5.1).
 */
import type { ServerOptions } from '../config/options';
import type { ExternalConnectOptions } from '../nats/external';

export function natsClientCredentials(o: ServerOptions): Omit<ExternalConnectOptions, 'name'> {
  const s = o.streaming;
  const n = o.nats;
  const user = s.natsUser !== '' ? s.natsUser : n.username;
  const pass = s.natsUser !== '' ? s.natsPassword : n.password;
  const token = s.natsToken !== '' ? s.natsToken : n.authorization;
  const out: Omit<ExternalConnectOptions, 'name'> = {};
  if (user !== '') {
    out.user = user;
    out.pass = pass;
  }
  if (token !== '') out.token = token;
  return out;
}
