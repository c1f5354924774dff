/** The message of anything thrown: what log lines and error replies show. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
