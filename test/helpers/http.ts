/** Tiny HTTP GET helper for the monitoring tests (node's global fetch). */
export interface HttpResult {
  status: number;
  contentType: string;
  body: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function httpGet(port: number, path: string): Promise<HttpResult> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  const body = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    body,
    json: () => JSON.parse(body),
  };
}
