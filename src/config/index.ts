/**
 * src/config owns turning what the operator wrote into {@link ServerOptions}: the option
 * types and defaults (options.ts), the command line (goflags.ts syntax, flags.ts table,
 * usage.ts), the NATS-style config file (natsconf.ts parser, configfile.ts routing, and one
 * module per block in sections/), the shared value vocabulary (values.ts kinds and type
 * names, units.ts sizes and durations), and load.ts, which merges defaults < file < flags
 * and validates the result. It does not own channel-name or subject rules (src/subject).
 */
export * from './options';
export * from './errors';
export * from './units';
export * from './values';
export * from './goflags';
export * from './natsconf';
export * from './flags';
export * from './configfile';
export * from './usage';
export * from './load';
