/**
 * The sandbox's pretend world around a real bridge: one WhatsApp number on the Graph fake, one Chatwoot account
 * and API inbox on the Chatwoot fake, wired through the bridge's admin API exactly as an admin would. It plays
 * both humans: the customer (signed WhatsApp webhooks, and the phone's sent/delivered/read receipts for every
 * message the Graph fake accepts) and the agent (a reply typed in the Chatwoot inbox).
 */
import { signMetaBody } from '../src/channels/meta/signature';
import type { FakeGraph } from '../test/fakes/graph';
import type { FakeChatwoot } from '../test/fakes/chatwoot';

export const SANDBOX = {
  phoneNumberId: '106540352242922',
  wabaId: '102290129340398',
  accountId: 1,
  metaToken: 'EAAG-sandbox-token-0000000000',
  chatwootToken: 'sandbox-chatwoot-agent-token',
  customer: '4915123456789',
} as const;

export interface ChatLine {
  id: number;
  conversationId: number;
  direction: 'customer' | 'agent' | 'note';
  text: string;
  status: string;
  error: string | null;
  at: number;
}

export interface PhoneLine {
  wamid: string;
  to: string;
  text: string;
  status: 'sent' | 'delivered' | 'read';
  at: number;
}

export interface WorldDeps {
  bridgeUrl: string;
  graph: FakeGraph;
  chatwoot: FakeChatwoot;
  appSecret: string;
  adminKey: string;
  /** Gap between the phone's receipts; short enough to watch, long enough to see each tick. */
  receiptGapMs?: number;
}

let sequence = 0;

export class SandboxWorld {
  private readonly phone = new Map<string, PhoneLine>();

  private constructor(private readonly deps: WorldDeps) {}

  static async create(deps: WorldDeps): Promise<SandboxWorld> {
    const world = new SandboxWorld(deps);
    await world.wire();
    return world;
  }

  private async admin(method: string, path: string, body: unknown): Promise<Record<string, any>> {
    const res = await fetch(`${this.deps.bridgeUrl}/admin${path}`, {
      method, headers: { authorization: `Bearer ${this.deps.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`sandbox setup: ${method} /admin${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Record<string, any>;
  }

  private async wire(): Promise<void> {
    const { graph, chatwoot } = this.deps;
    graph.addToken(SANDBOX.metaToken, { phoneNumberIds: [SANDBOX.phoneNumberId] });
    chatwoot.addAccount({ id: SANDBOX.accountId, token: SANDBOX.chatwootToken, name: 'Sandbox' });
    const inbox = chatwoot.addInbox(SANDBOX.accountId, { name: 'WhatsApp (sandbox)' });
    const tenant = await this.admin('POST', '/tenants', { name: 'Sandbox tenant' });
    const conn = await this.admin('POST', '/connections', {
      tenantId: tenant.id, name: 'Sandbox number', channel: 'whatsapp', businessId: SANDBOX.phoneNumberId, wabaId: SANDBOX.wabaId,
      metaAccessToken: SANDBOX.metaToken,
      platform: { kind: 'chatwoot', baseUrl: chatwoot.url, accountId: SANDBOX.accountId, inboxId: inbox.id, apiAccessToken: SANDBOX.chatwootToken, webhookSecret: inbox.secret ?? undefined },
    });
    chatwoot.updateInbox(SANDBOX.accountId, inbox.id, { webhookUrl: conn.chatwootWebhookUrl as string });
    // The phone: every accepted send is received, then read, as Meta would report it.
    graph.onSend(async (wamid) => {
      setTimeout(() => void this.receipts(wamid), 50);
    });
  }

  private async receipts(wamid: string): Promise<void> {
    const sent = this.deps.graph.sent.find((m) => m.id === wamid);
    if (!sent) return;
    const to = String(sent.to ?? sent.recipient ?? SANDBOX.customer);
    const text = textOf(sent.body);
    this.phone.set(wamid, { wamid, to, text, status: 'sent', at: Date.now() });
    const gap = this.deps.receiptGapMs ?? 600;
    for (const status of ['sent', 'delivered', 'read'] as const) {
      await this.postToBridge({
        object: 'whatsapp_business_account',
        entry: [{ id: SANDBOX.wabaId, changes: [{ field: 'messages', value: {
          messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: SANDBOX.phoneNumberId },
          statuses: [{ id: wamid, status, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: to }],
        } }] }],
      });
      this.phone.set(wamid, { ...this.phone.get(wamid)!, status });
      await new Promise((r) => setTimeout(r, gap));
    }
  }

  private async postToBridge(body: unknown): Promise<number> {
    const raw = JSON.stringify(body);
    const res = await fetch(`${this.deps.bridgeUrl}/webhooks/meta`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, this.deps.appSecret) }, body: raw,
    });
    return res.status;
  }

  /** The customer writes on WhatsApp: a signed webhook, shaped like Meta's, to the bridge. */
  async customerSends(text: string, from: string = SANDBOX.customer, name = 'Sandbox Customer'): Promise<{ status: number; wamid: string }> {
    sequence += 1;
    const wamid = `wamid.SANDBOX${Date.now().toString(36)}${sequence}`;
    const status = await this.postToBridge({
      object: 'whatsapp_business_account',
      entry: [{ id: SANDBOX.wabaId, changes: [{ field: 'messages', value: {
        messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: SANDBOX.phoneNumberId },
        contacts: [{ profile: { name }, wa_id: from }],
        messages: [{ from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
      } }] }],
    });
    return { status, wamid };
  }

  /** The agent answers in Chatwoot: an outgoing message, and Chatwoot's webhook to the bridge. */
  agentReplies(conversationId: number, text: string): void {
    this.deps.chatwoot.createAgentReply(SANDBOX.accountId, conversationId, { content: text });
  }

  /** What both sides see right now. */
  state(): { inbox: ChatLine[]; phone: PhoneLine[] } {
    const inbox = this.deps.chatwoot.messages(SANDBOX.accountId).map((m): ChatLine => ({
      id: m.id,
      conversationId: m.conversation_id,
      direction: m.private || m.message_type === 2 ? 'note' : m.message_type === 0 ? 'customer' : 'agent',
      text: m.content ?? '',
      status: m.status,
      error: typeof m.content_attributes?.external_error === 'string' ? m.content_attributes.external_error : null,
      at: m.created_at,
    }));
    return { inbox, phone: [...this.phone.values()].sort((a, b) => a.at - b.at) };
  }
}

function textOf(body: Record<string, unknown>): string {
  const text = (body.text as { body?: string } | undefined)?.body;
  return text ?? `[${String(body.type ?? 'message')}]`;
}
