/**
 * `authorization { user, password | token | users [...], timeout, default_permissions }`
 * of the embedded NATS server (spec nats-core §5.1, §5.2). Combinations nats-server
 * refuses are refused here too, with its wording and the block's position.
 */
import { ConfigError } from '../errors';
import type { ConfValue } from '../natsconf';
import { isConfMap } from '../natsconf';
import type { NatsAuthUser, NatsPermissions, ResponsePermission, SubjectPermission } from '../options';
import { invalidPermissionEntry } from '../../nats/embedded';
import { mark, type ApplyContext } from './keyspec';
import { ConfReader, describeValue, positionPrefix } from './reader';

export function applyAuthorization(ctx: ApplyContext, sec: ConfReader): void {
  const n = ctx.opts.nats;
  mark(ctx, 'auth');
  let userKey: string | undefined;
  let tokenKey: string | undefined;
  let usersKey: string | undefined;
  for (const k of sec.keys()) {
    switch (k.toLowerCase()) {
      case 'user': case 'username':
        n.username = sec.str(k);
        userKey = k;
        break;
      case 'password': case 'pass':
        n.password = sec.str(k);
        break;
      case 'token':
        n.authorization = sec.str(k);
        tokenKey = k;
        break;
      case 'timeout':
        n.authTimeout = sec.durationOrSeconds(k);
        mark(ctx, 'auth_timeout');
        if (!(n.authTimeout > 0)) throw sec.error(k, 'authorization timeout must be a positive number of seconds or a duration (e.g. 2 or "2s")');
        break;
      case 'users': {
        const v = sec.get(k);
        if (!Array.isArray(v)) throw sec.typeError(k, 'array', v);
        usersKey = k;
        n.users = v.map((u, i): NatsAuthUser => authUser(ctx, sec, k, u, i));
        break;
      }
      case 'default_permissions': case 'default_permission': case 'permissions':
        n.defaultPermissions = permissions(sec.sub(k));
        break;
      case 'nkeys':
        throw sec.error(k, 'authorization nkeys are not supported by this server: use users with passwords (bcrypt hashes allowed) or a token');
      default:
        ctx.warnings.push(`${sec.where(k)}unknown authorization key ${JSON.stringify(k)} (ignored)`);
    }
  }
  const at = userKey ?? tokenKey ?? usersKey;
  if (at !== undefined) {
    if (tokenKey !== undefined && usersKey !== undefined) throw sec.error(at, 'Can not have a token and a users array');
    if (userKey !== undefined && usersKey !== undefined) throw sec.error(at, 'Can not have a single user/pass and a users array');
    if (userKey !== undefined && tokenKey !== undefined) throw sec.error(at, 'Cannot have a user/pass and token');
  }
}

function authUser(ctx: ApplyContext, sec: ConfReader, key: string, u: ConfValue, i: number): NatsAuthUser {
  const where = sec.elemPos(key, i);
  const prefix = positionPrefix(where);
  if (!isConfMap(u)) throw new ConfigError(`${prefix}authorization users[${i}] is expected to be a map, got ${describeValue(u)}`);
  const us = sec.child(u, where);
  const out: NatsAuthUser = { user: '', password: '' };
  for (const uk of us.keys()) {
    switch (uk.toLowerCase()) {
      case 'user': case 'username': out.user = us.str(uk); break;
      case 'password': case 'pass': out.password = us.str(uk); break;
      case 'permissions': case 'permission': out.permissions = permissions(us.sub(uk)); break;
      case 'nkey':
        throw us.error(uk, 'nkey users are not supported by this server: give the user a password (bcrypt hashes allowed)');
      default:
        ctx.warnings.push(`${us.where(uk)}unknown key ${JSON.stringify(uk)} in authorization users[${i}] (ignored)`);
    }
  }
  if (out.user === '') throw new ConfigError(`${prefix}authorization users[${i}] has no "user"`);
  return out;
}

/** `{ publish, subscribe, allow_responses }` of a user or `default_permissions`. */
function permissions(sec: ConfReader): NatsPermissions {
  const out: NatsPermissions = {};
  for (const k of sec.keys()) {
    switch (k.toLowerCase()) {
      case 'publish': case 'pub':
        out.publish = subjectPermission(sec, k, 'publish');
        break;
      case 'subscribe': case 'sub':
        out.subscribe = subjectPermission(sec, k, 'subscribe');
        break;
      case 'allow_responses': case 'allow_response': {
        const r = responsePermission(sec, k);
        if (r !== undefined) out.allowResponses = r;
        else delete out.allowResponses;
        break;
      }
      default:
        throw sec.error(k, `unknown field ${JSON.stringify(k)} parsing permissions (expected publish, subscribe or allow_responses)`);
    }
  }
  // As nats-server: allow_responses without a publish allow list allows only responses.
  if (out.allowResponses !== undefined) {
    out.publish = { allow: out.publish?.allow ?? [], deny: out.publish?.deny ?? [] };
  }
  return out;
}

/** `"subj"`, `["a", "b"]` (allow only) or `{ allow: …, deny: … }`. */
function subjectPermission(sec: ConfReader, k: string, dir: 'publish' | 'subscribe'): SubjectPermission {
  const v = sec.get(k);
  if (typeof v === 'string' || Array.isArray(v)) {
    const allow = subjectList(sec, k, dir);
    return { allow: allow.length > 0 ? allow : null, deny: [] };
  }
  if (!isConfMap(v)) throw sec.typeError(k, 'map', v);
  const m = sec.sub(k);
  const out: SubjectPermission = { allow: null, deny: [] };
  for (const mk of m.keys()) {
    switch (mk.toLowerCase()) {
      case 'allow': {
        // An empty allow list means "no allow list" (spec nats-core §5.2).
        const allow = subjectList(m, mk, dir);
        out.allow = allow.length > 0 ? allow : null;
        break;
      }
      case 'deny':
        out.deny = subjectList(m, mk, dir);
        break;
      default:
        throw m.error(mk, `unknown field ${JSON.stringify(mk)} parsing ${dir} permissions (expected allow or deny)`);
    }
  }
  return out;
}

function subjectList(sec: ConfReader, k: string, dir: 'publish' | 'subscribe'): string[] {
  const v = sec.get(k);
  const list = typeof v === 'string' ? [v] : sec.strList(k);
  list.forEach((e, i) => {
    const err = invalidPermissionEntry(e, dir);
    if (err === undefined) return;
    const p = Array.isArray(v) ? sec.elemPos(k, i) : sec.pos(k);
    throw new ConfigError(`${positionPrefix(p)}${err}`);
  });
  return list.map((e) => e.trim());
}

/** `allow_responses: true` (1 response within 2 minutes) or `{ max, expires }`. */
function responsePermission(sec: ConfReader, k: string): ResponsePermission | undefined {
  const v = sec.get(k);
  const dflt: ResponsePermission = { max: 1, expires: 120_000 };
  if (typeof v === 'boolean') return v ? dflt : undefined;
  if (!isConfMap(v)) throw sec.typeError(k, 'map', v);
  const m = sec.sub(k);
  const out = { ...dflt };
  for (const mk of m.keys()) {
    switch (mk.toLowerCase()) {
      case 'max': case 'max_msgs': case 'max_messages': case 'max_responses':
        out.max = m.int(mk);
        break;
      case 'expires': case 'ttl':
        out.expires = m.durationOrSeconds(mk);
        break;
      default:
        throw m.error(mk, `unknown field ${JSON.stringify(mk)} parsing allow_responses (expected max or expires)`);
    }
  }
  return out;
}
