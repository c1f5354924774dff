/** An import refused or failed for a reason the operator can fix; the message says how. */
export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}
