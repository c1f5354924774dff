/** An import refused or failed for a reason the operator can fix; the message says how. */
import { StanServerError } from '../errors';
export class ImportError extends StanServerError {
  override readonly kind = 'import' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}
