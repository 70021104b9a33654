/**
 * The agents of a chaos run. A reply is written when the customer message that prompts it shows up in Chatwoot
 * (seen in the webhook Chatwoot sends for it), and one conversation's replies strictly one after another: the
 * next is written only once a bridge accepted the previous one's webhook, so the order they were written in is
 * the order the bridge was told, and order at Graph can be checked.
 */
import type { FakeChatwoot } from '../test/fakes/chatwoot';
import { ACCOUNT_ID } from '../test/support/harness';
import type { CreatedMessage } from './chatwoot-relay';
import type { SentItem } from './tally';
import { replyKey, replyText, replyTriggers } from './workload';

export interface AgentRepliesOptions {
  chatwoot: FakeChatwoot;
  marker: string;
  customers: number;
  messagesPerCustomer: number;
  replies: number;
  /** Resolves once a bridge accepted the webhook of this Chatwoot message. */
  accepted(messageId: number): Promise<void>;
}

export class AgentReplies {
  /** Replies written, in writing order. */
  readonly sent: SentItem[] = [];
  /** Reply webhooks a bridge refused for good. */
  readonly failures: string[] = [];
  readonly planned: number;
  /** Customer messages Chatwoot reported created (progress; the final count reads Chatwoot itself). */
  readonly seenAtChatwoot = new Set<string>();
  private readonly positionOf = new Map<string, { customer: number; seq: number }>();
  private readonly prompted = new Set<string>();
  private readonly chains = new Map<number, Promise<void>>();

  constructor(private readonly opts: AgentRepliesOptions) {
    let planned = 0;
    for (let c = 0; c < opts.customers; c += 1) planned += this.triggersOf(c).length;
    this.planned = planned;
  }

  /** An even share per customer, the first customers one more when it does not divide. */
  private triggersOf(customer: number): number[] {
    const { replies, customers, messagesPerCustomer } = this.opts;
    const share = Math.floor(replies / customers) + (customer < replies % customers ? 1 : 0);
    return replyTriggers(messagesPerCustomer, share);
  }

  /** The load tells of each customer message before it is sent, so its arrival can be placed. */
  customerMessageSent(wamid: string, customer: number, seq: number): void {
    this.positionOf.set(wamid, { customer, seq });
  }

  /** Called for every message_created webhook Chatwoot sends. */
  onCreated(m: CreatedMessage): void {
    if (m.messageType !== 'incoming' || !m.sourceId) return;
    this.seenAtChatwoot.add(m.sourceId);
    const pos = this.positionOf.get(m.sourceId);
    if (!pos || this.prompted.has(m.sourceId)) return;
    const j = this.triggersOf(pos.customer).indexOf(pos.seq);
    if (j < 0) return;
    this.prompted.add(m.sourceId);
    const key = replyKey(pos.customer, j);
    const chain = (this.chains.get(pos.customer) ?? Promise.resolve()).then(async () => {
      const reply = this.opts.chatwoot.createAgentReply(ACCOUNT_ID, m.conversationId, { content: replyText(this.opts.marker, key) });
      this.sent.push({ key, stream: `conversation-${pos.customer}`, seq: j, sentAt: Date.now() });
      await this.opts.accepted(reply.id);
    }).catch((err: Error) => { this.failures.push(err.message); });
    this.chains.set(pos.customer, chain);
  }

  /** Every reply written so far has been accepted or refused, or timeoutMs passed (a chain can wait for good). */
  async settled(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.all(this.chains.values()), new Promise((r) => setTimeout(r, timeoutMs))]);
  }
}
