/** TLS for the test database servers (db.ts): a throw-away PKI made with openssl. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DbStartOptions, TlsFiles, TlsStartOptions } from './db-instance';
import { run } from './db-util';

// ---------------------------------------------------------------------------------------------
// TLS: a throw-away PKI made with openssl

/** Generates a CA, a server certificate signed by it (SAN = `names`) and an unrelated CA. */
export async function generateTestCerts(dir: string, opts: TlsStartOptions = {}): Promise<TlsFiles> {
  const names = opts.names ?? ['localhost', '127.0.0.1'];
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string): string => path.join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const caExt = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '3650', '-subj', '/CN=stan test CA', ...caExt]);
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('wrong-ca.key'), '-out', f('wrong-ca.crt'), '-days', '3650', '-subj', '/CN=stan wrong CA', ...caExt]);
  await run('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${names[0] ?? 'localhost'}`]);
  const san = names.map((n) => (/^[\d.]+$/.test(n) || n.includes(':') ? `IP:${n}` : `DNS:${n}`)).join(',');
  fs.writeFileSync(
    f('server.ext'),
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
  );
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '3650', '-extfile', f('server.ext')]);
  fs.chmodSync(f('server.key'), 0o600);
  fs.writeFileSync(f('client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  for (const [name, ca] of [['client', 'ca'], ['wrong-client', 'wrong-ca']] as const) {
    await run('openssl', ['req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=stan test ${name}`]);
    await run('openssl', ['x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${ca}.crt`), '-CAkey', f(`${ca}.key`), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '3650', '-extfile', f('client.ext')]);
    fs.chmodSync(f(`${name}.key`), 0o600);
  }
  return {
    dir,
    caFile: f('ca.crt'),
    caKeyFile: f('ca.key'),
    certFile: f('server.crt'),
    keyFile: f('server.key'),
    wrongCaFile: f('wrong-ca.crt'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
    wrongClientCertFile: f('wrong-client.crt'),
    wrongClientKeyFile: f('wrong-client.key'),
    names,
  };
}

export function tlsOptions(o: DbStartOptions): TlsStartOptions | undefined {
  if (o.tls === undefined || o.tls === false) return undefined;
  return o.tls === true ? {} : o.tls;
}
