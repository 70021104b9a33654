/**
 * Meta's side of the chaos run: every customer writes its messages one after another (the next only once the
 * previous was answered 200, so the order a customer wrote in is the order the bridge was told), paced to an
 * offered rate, spread over the live bridge processes. Like Meta, anything but a 200 — 503, a refused or cut
 * connection, a timeout — is delivered again, with backoff, possibly to another process.
 */
import { randomBytes } from 'node:crypto';
import { signMetaBody } from '../src/channels/meta/signature';
import type { SentItem } from './tally';
import { customerText } from './workload';

export interface MetaLoadOptions {
  phones: string[];
  perCustomer: number;
  marker: string;
  ratePerSecond: number;
  /** Requests in flight at most (first deliveries and redeliveries together). */
  maxInFlight: number;
  /** Base URLs of the bridge processes that are up right now. */
  targets: () => string[];
  appSecret: string;
  phoneNumberId: string;
  displayPhoneNumber: string;
  /** Told of each message just before it is first sent. */
  onSend?(item: SentItem, customer: number): void;
}

export interface MetaLoadStats {
  /** Answers by HTTP status, and 'network' for refused/cut connections and timeouts. */
  answers: Record<string, number>;
  redeliveries: number;
  /** "sent" status webhooks delivered (one per message Graph accepted), and how many of those were delivered again. */
  statuses: number;
  statusRedeliveries: number;
}

const REQUEST_TIMEOUT_MS = 10_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class MetaLoad {
  /** One per message, in the order first sent; `sentAt` is the first attempt. */
  readonly sent: SentItem[] = [];
  readonly stats: MetaLoadStats = { answers: {}, redeliveries: 0, statuses: 0, statusRedeliveries: 0 };
  private readonly statusDeliveries = new Set<Promise<void>>();
  acked = 0;
  private nextStart = 0;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private roundRobin = 0;
  private readonly baseS = Math.floor(Date.now() / 1000) - 3600;

  constructor(private readonly opts: MetaLoadOptions) {}

  get total(): number {
    return this.opts.phones.length * this.opts.perCustomer;
  }

  async run(): Promise<void> {
    await Promise.all(this.opts.phones.map((_, c) => this.customer(c)));
  }

  private async customer(c: number): Promise<void> {
    for (let k = 0; k < this.opts.perCustomer; k += 1) {
      await this.pace();
      const wamid = `wamid.CHAOS${randomBytes(12).toString('hex')}`;
      const item: SentItem = { key: wamid, stream: `customer-${c}`, seq: k, sentAt: Date.now() };
      this.sent.push(item);
      this.opts.onSend?.(item, c);
      await this.deliverUntilAccepted(this.body(c, k, wamid));
      this.acked += 1;
    }
  }

  /**
   * Meta's "sent" status for a message Graph accepted, with the send's biz_opaque_callback_data echoed, delivered
   * like any webhook (again until a bridge answers 200). It is what lets a bridge that lost Graph's answer (killed
   * mid-send) find the part sent instead of sending it twice.
   */
  sendStatus(message: { id: string; to?: string; body: Record<string, unknown> }): void {
    const opaque = message.body.biz_opaque_callback_data;
    const body = this.messagesChange({
      statuses: [{
        id: message.id, status: 'sent', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: (message.to ?? '').replace(/\D/g, ''),
        ...(typeof opaque === 'string' ? { biz_opaque_callback_data: opaque } : {}),
      }],
    });
    this.stats.statuses += 1;
    const delivery = this.deliverUntilAccepted(body, true).finally(() => this.statusDeliveries.delete(delivery));
    this.statusDeliveries.add(delivery);
  }

  /** Every status webhook started so far has been accepted. */
  async statusesDelivered(): Promise<void> {
    while (this.statusDeliveries.size > 0) await Promise.all([...this.statusDeliveries]);
  }

  /** Meta's timestamps are seconds; each message of a customer gets its own second, in writing order. */
  private body(c: number, k: number, wamid: string): string {
    const from = this.opts.phones[c]!;
    return this.messagesChange({
      contacts: [{ profile: { name: `Customer ${c}` }, wa_id: from }],
      messages: [{ from, id: wamid, timestamp: String(this.baseS + k), type: 'text', text: { body: customerText(this.opts.marker, c, k) } }],
    });
  }

  /** A delivery of one `messages` change for the connection's number: customer messages or statuses. */
  private messagesChange(content: Record<string, unknown>): string {
    return JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{
        id: '102290129340398',
        changes: [{
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: this.opts.displayPhoneNumber, phone_number_id: this.opts.phoneNumberId },
            ...content,
          },
        }],
      }],
    });
  }

  /** First deliveries start at most ratePerSecond a second (redeliveries are not paced, as at Meta). */
  private async pace(): Promise<void> {
    const now = Date.now();
    const start = Math.max(now, this.nextStart);
    this.nextStart = start + 1000 / this.opts.ratePerSecond;
    if (start > now) await sleep(start - now);
  }

  private async deliverUntilAccepted(body: string, isStatus = false): Promise<void> {
    const signature = signMetaBody(body, this.opts.appSecret);
    for (let attempt = 1; ; attempt += 1) {
      if (attempt > 1) {
        if (isStatus) this.stats.statusRedeliveries += 1;
        else this.stats.redeliveries += 1;
        await sleep(Math.min(3000, 150 * 2 ** Math.min(attempt - 2, 5)) * (0.5 + Math.random() / 2));
      }
      const targets = this.opts.targets();
      if (targets.length === 0) continue;
      const target = targets[this.roundRobin++ % targets.length]!;
      const status = await this.withSlot(() => this.post(target, body, signature));
      if (!isStatus) this.stats.answers[status] = (this.stats.answers[status] ?? 0) + 1;
      if (status === '200') return;
    }
  }

  private async post(target: string, body: string, signature: string): Promise<string> {
    try {
      const res = await fetch(`${target}/webhooks/meta`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      return String(res.status);
    } catch {
      return 'network';
    }
  }

  private async withSlot<T>(work: () => Promise<T>): Promise<T> {
    while (this.inFlight >= this.opts.maxInFlight) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
      this.waiting.shift()?.();
    }
  }
}
