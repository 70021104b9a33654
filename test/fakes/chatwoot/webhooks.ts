/**
 * Deliveries to an API inbox's webhook_url, as Chatwoot's WebhookListener + Webhooks::Trigger make them
 * (chatwoot-api-notes §1.3–1.4, §1.6, synth-signed-delivery-example.http):
 * - every message_created / message_updated of a non-activity message (private notes included; messages created
 *   through the API too: the echo), plus conversation_created / conversation_status_changed / conversation_updated;
 * - asynchronous (never before the API response), payload built when the delivery runs, no ordering promise;
 * - headers Content-Type/Accept application/json, X-Chatwoot-Delivery (uuid) and, when the inbox has a secret,
 *   X-Chatwoot-Timestamp + X-Chatwoot-Signature = sha256=hex(HMAC-SHA256(secret, `${ts}.${rawBody}`));
 * - never retried; a non-2xx, timeout or network error on a message event marks that message failed with
 *   external_error ("500 Internal Server Error" or the exception text), which fires message_updated.
 * Chatwoot >= 4.14 blocks private/loopback webhook URLs unless SAFE_FETCH_ALLOW_PRIVATE_NETWORK=true; this fake
 * behaves as if that is set (it delivers to 127.0.0.1).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { updateMessageStatus } from './conversations';
import type { ChatwootState, DomainEvent } from './state';
import type { Views } from './views';

export interface WebhookDelivery {
  id: string;
  url: string;
  event: string;
  messageId?: number;
  /** Display id. */
  conversationId?: number;
  headers: Record<string, string>;
  /** The exact bytes sent (Rails-style JSON). */
  body: string;
  /** HTTP status answered by the receiver, when it answered. */
  status?: number;
  /** Why the delivery failed, in the words Chatwoot would store as external_error. */
  error?: string;
  at: number;
}

/**
 * Rails' to_json with escape_html_entities_in_json (the Rails default): <, >, & and U+2028/2029 become \uXXXX.
 * Whether Chatwoot keeps that default is UNCONFIRMED; either way receivers must verify the raw bytes.
 */
export function railsJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function signChatwoot(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

/** Approximations of the Ruby exception texts Chatwoot stores for network failures (UNCONFIRMED wording). */
function networkError(err: unknown, url: string): string {
  const e = err as { name?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'Net::ReadTimeout with #<TCPSocket:(closed)>';
  const { hostname, port } = new URL(url);
  if (e.cause?.code === 'ECONNREFUSED') return `Failed to open TCP connection to ${hostname}:${port} (Connection refused - connect(2) for "${hostname}" port ${port})`;
  return `${e.cause?.code ?? e.name ?? 'Error'}: ${(err as Error).message}`;
}

export class WebhookDispatcher {
  readonly deliveries: WebhookDelivery[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly aborter = new AbortController();

  constructor(private readonly state: ChatwootState, private readonly views: Views, private readonly timeoutMs: number) {
    state.onEvent = (e) => this.enqueue([e], Promise.resolve());
  }

  /** Each event is delivered once `after` settles (the API response is out) and one more turn has passed. */
  enqueue(events: DomainEvent[], after: Promise<unknown>): void {
    for (const e of events) {
      const p = after
        .then(() => new Promise((r) => setImmediate(r)))
        .then(() => this.deliver(e))
        .catch(() => undefined)
        .finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  /** Resolves when every delivery queued so far, and every one those caused (failed → message_updated), is done. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  close(): void {
    this.aborter.abort();
  }

  private build(e: DomainEvent): { inboxId: number; payload: Record<string, unknown>; messageId?: number; conversationId?: number } | undefined {
    if ('messageId' in e) {
      const m = this.state.messages.get(e.messageId);
      // webhook_sendable?: incoming, outgoing, template. Activity messages never leave.
      if (!m || m.messageType === 2) return undefined;
      const conv = this.state.conversations.get(m.conversationId);
      return { inboxId: m.inboxId, payload: this.views.messageWebhook(m, e.event), messageId: m.id, conversationId: conv?.displayId };
    }
    const conv = this.state.conversations.get(e.conversationId);
    if (!conv) return undefined;
    const payload: Record<string, unknown> = { ...this.views.conversationWebhook(conv), event: e.event };
    // conversation_status_changed carries changed_attributes: null in practice (§6); conversation_updated has them.
    if (e.event === 'conversation_status_changed') payload.changed_attributes = null;
    if (e.event === 'conversation_updated') payload.changed_attributes = [e.changed];
    return { inboxId: conv.inboxId, payload, conversationId: conv.displayId };
  }

  private async deliver(e: DomainEvent): Promise<void> {
    const built = this.build(e);
    const inbox = built ? this.state.inboxes.get(built.inboxId) : undefined;
    if (!built || !inbox?.webhookUrl) return;
    const body = railsJson(built.payload);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': 'Ruby', 'X-Chatwoot-Delivery': randomUUID(),
    };
    if (inbox.secret) {
      const ts = String(Math.floor(Date.now() / 1000));
      headers['X-Chatwoot-Timestamp'] = ts;
      headers['X-Chatwoot-Signature'] = signChatwoot(inbox.secret, ts, body);
    }
    const record: WebhookDelivery = {
      id: headers['X-Chatwoot-Delivery']!, url: inbox.webhookUrl, event: e.event, messageId: built.messageId,
      conversationId: built.conversationId, headers, body, at: Date.now(),
    };
    this.deliveries.push(record);
    try {
      const res = await fetch(inbox.webhookUrl, {
        method: 'POST', headers, body, redirect: 'follow',
        signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.aborter.signal]),
      });
      record.status = res.status;
      await res.arrayBuffer().catch(() => undefined); // the body is ignored
      if (res.status < 200 || res.status > 299) record.error = `${res.status} ${STATUS_CODES[res.status] ?? ''}`.trim();
    } catch (err) {
      if (this.aborter.signal.aborted) return;
      record.error = networkError(err, inbox.webhookUrl);
    }
    if (record.error && built.messageId !== undefined) {
      const m = this.state.messages.get(built.messageId);
      if (m) updateMessageStatus(this.state, m, 'failed', record.error);
    }
  }
}
