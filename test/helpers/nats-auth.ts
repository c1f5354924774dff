/**
 * NATS decentralized-auth material for tests, made with the real `nkeys.js` library: nkey
 * pairs, and an operator → account → user chain of JWTs (what `nsc` produces) with the
 * user's .creds file and the nats-server configuration that trusts the operator.
 *
 * A NATS JWT is `base64url(header).base64url(claims).base64url(ed25519 signature)`, signed
 * by the issuer's nkey; the header is {"typ":"JWT","alg":"ed25519-nkey"}.
 */
import { createHash } from 'node:crypto';
import * as nkeys from 'nkeys.js';

export type KeyPair = nkeys.KeyPair;

function b64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

/** Encodes and signs a JWT v2 with `issuer`'s nkey. */
export function signJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const body: Record<string, unknown> = {
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  };
  // nsc uses a hash of the claims as the JWT ID; nats-server does not check it.
  body.jti = createHash('sha256').update(JSON.stringify(body)).digest('base64url');
  const claims = b64url(JSON.stringify(body));
  const sig = issuer.sign(new TextEncoder().encode(`${header}.${claims}`));
  return `${header}.${claims}.${b64url(sig)}`;
}

/** The text of a .creds file, laid out as `nsc generate creds` writes it. */
export function credsFile(userJwt: string, userSeed: string): string {
  return [
    '-----BEGIN NATS USER JWT-----',
    userJwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    'NKEYs are sensitive and should be treated as secrets.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    userSeed,
    '------END USER NKEY SEED------',
    '',
    '*************************************************************',
    '',
  ].join('\n');
}

export interface OperatorSetup {
  /** nats-server configuration body: trust the operator, preload the account. */
  serverConfig: string;
  /** .creds file contents of a user of the account. */
  userCreds: string;
  userPublicKey: string;
}

const NO_LIMITS = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

/** A fresh operator with one account and one user (all limits off). */
export function operatorSetup(): OperatorSetup {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const user = nkeys.createUser();
  const opPub = operator.getPublicKey();
  const accPub = account.getPublicKey();
  const opJwt = signJwt(operator, opPub, 'test-operator', { type: 'operator' });
  const accJwt = signJwt(operator, accPub, 'test-account', { type: 'account', limits: NO_LIMITS, default_permissions: { pub: {}, sub: {} } });
  const userJwt = signJwt(account, user.getPublicKey(), 'test-user', { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
  return {
    serverConfig: [`operator: "${opJwt}"`, 'resolver: MEMORY', `resolver_preload: {`, `  ${accPub}: "${accJwt}"`, '}', ''].join('\n'),
    userCreds: credsFile(userJwt, new TextDecoder().decode(user.getSeed())),
    userPublicKey: user.getPublicKey(),
  };
}
