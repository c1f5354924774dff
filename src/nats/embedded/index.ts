/** Public API of the embedded NATS core server. */
export { EmbeddedNatsServer, SERVER_VERSION, type NatsServerStats, type StatsSource } from './server';
export { connectInProcess, InProcessConnection } from './inprocess';
export { CloseReason, type ConnectionStats } from './client';
export { Sublist, type SublistEntry, type SublistResult, type SublistStats } from './sublist';
export { Parser, ProtocolError, type ParserHandler, type ParserLimits } from './parser';
export { Nuid, nuid } from './nuid';
