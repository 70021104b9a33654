/**
 * The CLI's way into a running bridge: the admin API over HTTP, with the same keys an admin would use (the
 * super-admin key, or a tenant key for that tenant's objects). The server holds every rule; the CLI only asks.
 * Errors become one readable line (CliError) and exit code 1.
 */
export class CliError extends Error {
  override name = 'CliError';
}

export interface AdminClientOptions {
  url: string;
  key: string;
}

export class AdminClient {
  constructor(private readonly opts: AdminClientOptions) {
    if (!opts.key) throw new CliError('no admin key: pass --key or set BRIDGE_ADMIN_KEY (the super-admin key is ADMIN_API_KEY; tenants use their tk_ key)');
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.opts.url.replace(/\/+$/, '')}/admin${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.opts.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      throw new CliError(`cannot reach the bridge at ${this.opts.url} (${(err as Error).cause ?? (err as Error).message}); is it running? set --url or BRIDGE_URL`);
    }
    if (res.status === 204) return {} as T;
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw new CliError(`${method} ${path}: the bridge answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; details?: unknown } }).error;
      const details = Array.isArray(e?.details) ? `: ${e.details.join('; ')}` : '';
      throw new CliError(`${method} ${path}: ${res.status} ${e?.code ?? ''} ${e?.message ?? ''}${details}`.replace(/\s+/g, ' ').trim());
    }
    return parsed as T;
  }
}
