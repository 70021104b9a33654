/**
 * The webhooks the load generator sends: signed WhatsApp Cloud deliveries in Meta's shape, one event each, from
 * a pool of customers, in a mix close to what a busy number receives — mostly text, some images (the bridge
 * downloads each from the Graph fake and uploads it to Chatwoot), and delivery statuses.
 */
import { randomBytes } from 'node:crypto';
import { signMetaBody } from '../src/channels/meta/signature';
import { APP_SECRET, PHONE_NUMBER_ID } from '../test/support/harness';

export const CUSTOMERS = 1000;

/** Out of 20 webhooks: 15 texts, 2 images, 3 statuses. */
const MIX = { text: 15, image: 2, status: 3 } as const;

export interface Webhook {
  body: string;
  signature: string;
  /** The wamid of the customer message it carries (what the Chatwoot fake receives as source_id); null for a status. */
  messageId: string | null;
}

export class WebhookMaker {
  private seq = 0;
  private readonly run = randomBytes(3).toString('hex');

  constructor(private readonly mediaId: string, private readonly customers = CUSTOMERS) {}

  private customer(n: number): string {
    // A multiplicative walk over the pool, so consecutive webhooks come from different customers.
    return `44770${String((n * 7919) % this.customers).padStart(7, '0')}`;
  }

  next(): Webhook {
    this.seq += 1;
    const n = this.seq;
    const id = `wamid.BENCH${this.run}${n.toString(36).padStart(8, '0')}`;
    const from = this.customer(n);
    const ts = String(Math.floor(Date.now() / 1000));
    const metadata = { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID };
    const contacts = [{ profile: { name: `Bench ${from.slice(-4)}` }, wa_id: from }];
    const slot = n % (MIX.text + MIX.image + MIX.status);
    let value: Record<string, unknown>;
    let messageId: string | null = id;
    if (slot < MIX.text) {
      value = { messaging_product: 'whatsapp', metadata, contacts, messages: [{ from, id, timestamp: ts, type: 'text', text: { body: `bench message ${n}` } }] };
    } else if (slot < MIX.text + MIX.image) {
      value = { messaging_product: 'whatsapp', metadata, contacts, messages: [{ from, id, timestamp: ts, type: 'image', image: { id: this.mediaId, mime_type: 'image/jpeg', sha256: 'bench' } }] };
    } else {
      // A receipt for a send the bridge never made: it is held (one read, one write), as a late status would be.
      value = { messaging_product: 'whatsapp', metadata, statuses: [{ id, status: 'delivered', timestamp: ts, recipient_id: from }] };
      messageId = null;
    }
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ field: 'messages', value }] }] });
    return { body, signature: signMetaBody(body, APP_SECRET), messageId };
  }
}
