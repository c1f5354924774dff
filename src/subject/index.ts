/**
 * src/subject owns the subject and channel-name rules of the whole server: the NATS subject
 * grammar (syntax.ts), what a STAN channel name or per-channel limits pattern may be
 * (channel.ts), and wildcard matching/overlap between patterns (match.ts). Everything that
 * validates or matches subjects imports it from here, the embedded NATS server included;
 * no other module keeps its own copy.
 */
export * from './syntax';
export * from './channel';
export * from './match';
