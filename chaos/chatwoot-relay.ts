/**
 * The inbox's webhook_url in the chaos run. Real Chatwoot never retries a webhook; here the driver plays a
 * Chatwoot that does: it takes each delivery from the Chatwoot fake at once, then POSTs the same bytes and
 * headers (same X-Chatwoot-Delivery, same signature) to a live bridge process until one answers 2xx, with
 * backoff. It also tells the driver about each message Chatwoot created (to prompt agent replies) and when a
 * reply's webhook was accepted (so the next reply of that conversation is written only after it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CreatedMessage {
  id: number;
  messageType: string;
  conversationId: number;
  sourceId: string | null;
}

export interface RelayStats {
  received: number;
  forwarded: number;
  retries: number;
  /** 4xx answers other than 429: given up on (path and status). */
  refused: Array<{ status: number; event: string }>;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

const FORWARDED_HEADERS = ['content-type', 'x-chatwoot-delivery', 'x-chatwoot-timestamp', 'x-chatwoot-signature'];

export class ChatwootRelay {
  readonly stats: RelayStats = { received: 0, forwarded: 0, retries: 0, refused: [] };
  private readonly acceptedById = new Map<number, Deferred>();
  private readonly pending = new Set<Promise<void>>();
  private roundRobin = 0;
  private closed = false;

  private constructor(private readonly server: http.Server, readonly url: string, private readonly targets: () => string[],
    private readonly onCreated: (m: CreatedMessage) => void) {}

  static async start(targets: () => string[], onCreated: (m: CreatedMessage) => void): Promise<ChatwootRelay> {
    let relay: ChatwootRelay | undefined;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        relay!.take(req.url ?? '/', req.headers, Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    relay = new ChatwootRelay(server, `http://127.0.0.1:${port}`, targets, onCreated);
    return relay;
  }

  /** Resolves once a bridge accepted the message_created webhook of this Chatwoot message. */
  accepted(messageId: number): Promise<void> {
    return this.acceptance(messageId).promise;
  }

  /** Resolves when every delivery taken so far has been accepted or given up on. */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await new Promise<void>((resolve) => { this.server.close(() => resolve()); this.server.closeAllConnections(); });
  }

  private acceptance(id: number): Deferred {
    let d = this.acceptedById.get(id);
    if (!d) this.acceptedById.set(id, (d = deferred()));
    return d;
  }

  private take(path: string, headers: http.IncomingHttpHeaders, body: Buffer): void {
    this.stats.received += 1;
    let payload: { event?: string; id?: number; message_type?: string; source_id?: string | null; conversation?: { id?: number } } = {};
    try { payload = JSON.parse(body.toString('utf8')); } catch { /* forwarded as is; the bridge decides */ }
    const messageId = payload.event === 'message_created' && typeof payload.id === 'number' ? payload.id : undefined;
    if (messageId !== undefined && typeof payload.conversation?.id === 'number') {
      this.onCreated({ id: messageId, messageType: String(payload.message_type), conversationId: payload.conversation.id, sourceId: payload.source_id ?? null });
    }
    const forwardHeaders: Record<string, string> = {};
    for (const h of FORWARDED_HEADERS) if (typeof headers[h] === 'string') forwardHeaders[h] = headers[h];
    const p = this.forward(path, forwardHeaders, body, payload.event ?? 'unknown')
      .then((ok) => {
        if (messageId === undefined || payload.event !== 'message_created') return;
        if (ok) this.acceptance(messageId).resolve();
        else this.acceptance(messageId).reject(new Error(`the bridge refused the webhook of message ${messageId}`));
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** True once a bridge answered 2xx; false when one refused it for good (4xx other than 429). */
  private async forward(path: string, headers: Record<string, string>, body: Buffer, event: string): Promise<boolean> {
    for (let attempt = 1; !this.closed; attempt += 1) {
      if (attempt > 1) {
        this.stats.retries += 1;
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt - 2, 5)) * (0.5 + Math.random() / 2)));
      }
      const targets = this.targets();
      if (targets.length === 0) continue;
      const target = targets[this.roundRobin++ % targets.length]!;
      let status: number;
      try {
        const res = await fetch(`${target}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer().catch(() => undefined);
        status = res.status;
      } catch {
        continue;
      }
      if (status >= 200 && status < 300) { this.stats.forwarded += 1; return true; }
      if (status >= 400 && status < 500 && status !== 429) { this.stats.refused.push({ status, event }); return false; }
    }
    return false;
  }
}
