/** Public API of the embedded NATS core server. */
export { EmbeddedNatsServer, SERVER_VERSION, type NatsServerStats, type StatsSource } from './server';
export { connectInProcess, InProcessConnection } from './inprocess';
export { CloseReason, type ConnectionStats } from './client';
export { Sublist, type SublistEntry, type SublistResult, type SublistStats } from './sublist';
export { ProtocolParser, ProtocolError, type ParserHandler, type ParserLimits } from './parser';
export { Nuid, nuid } from './nuid';
// What the rest of the server (config, stan start-up and reload, monitor) uses: they import
// this module, never the files of this folder.
export { AuthConfigError } from './auth';
export { invalidPermissionEntry } from './permissions';
export { httpsMonitorOptions, tlsRequired, tlsTimeoutMs, validateServerTls } from './tls';
export { assertPortFree } from './port-check';
export { changedKeys, copyOption } from './reload';
