/**
 * Throw-away PKI for TLS tests (NATS, monitoring, databases): a CA, a server certificate,
 * a client certificate, and an unrelated CA with its own client certificate, made with openssl.
 * The implementation lives with the database helpers, which needed it first.
 */
export { generateTestCerts, type TlsFiles, type TlsStartOptions } from './db';
