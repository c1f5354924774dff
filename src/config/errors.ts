/** A user-facing configuration error (bad flag, bad config file, invalid limits…). */
import { StanServerError } from '../errors';
export class ConfigError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
