/** A user-facing configuration error (bad flag, bad config file, invalid limits…). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
