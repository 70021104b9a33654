/**
 * The Meta side of the bridge: one Channel per product (WhatsApp, Messenger, Instagram), the same shape each.
 * A channel turns a webhook body into neutral events (pure), and fetches the media those events point to.
 */
import type { ChannelKind, MediaRef, ParsedDelivery } from '../core/events';
import type { CustomerProfile } from '../core/profiles';
import type { OutboundReply, Recipient } from '../core/outbound';
import type { ConnectionRecord } from '../store/connections';
import type { DownloadedMedia, MediaStream } from './meta/media';

export interface Channel {
  readonly kind: ChannelKind;
  /** The webhook `object` values this channel reads ("whatsapp_business_account", "page", "instagram"). */
  readonly objects: readonly string[];
  parse(body: unknown): ParsedDelivery;
  fetchMedia(conn: ConnectionRecord, ref: MediaRef): Promise<DownloadedMedia>;
  /** The same file streamed, never held whole (platforms that fetch media by link). fetchMedia is the fallback. */
  openMedia?(conn: ConnectionRecord, ref: MediaRef): Promise<MediaStream>;
  /** The customer's name and picture, for channels whose webhooks carry only an id (Messenger, Instagram). */
  fetchProfile?(conn: ConnectionRecord, customerId: string): Promise<CustomerProfile>;
  /**
   * Meta echoes every send back as a webhook (Messenger, Instagram). Replies then go through the customer's own
   * lane, so the echo of a send is handled only after the send is recorded (see Pipeline.enqueueCommand).
   */
  readonly echoesSends?: boolean;
  readonly outbound: ChannelOutbound;
}

export type { CustomerProfile };

/** What the relay knows about the conversation when it plans a reply. */
export interface ReplyContext {
  conn: ConnectionRecord;
  /** Time since the customer's last message, when known. */
  sinceCustomerMs?: number;
  /** The platform's id of the reply. */
  platformMessageId?: string;
}

/** One request a reply becomes (text, each attachment, a template…). Sent and recorded one by one. */
export interface OutboundPart {
  index: number;
  kind: string;
  /**
   * The send tag Meta echoes in the part's status webhooks (src/core/send-tags.ts), on channels that echo one
   * (WhatsApp). With it, a part whose answer was lost is found sent instead of being sent again.
   */
  tag?: string;
}

/** Called by send() right before the request that sends the message (after uploads and pacing). */
export type BeforeSend = () => Promise<void>;

/** What a failed send means for the agent and for the bridge. */
export interface SendFailure {
  text: string;
  retryable: boolean;
  reauth: boolean;
}

export interface ChannelOutbound {
  /** Hours after the customer's last message in which a free-form reply may be sent. */
  readonly replyWindowHours: number;
  /** Pure: the parts of a reply, in order. Throws PermanentError when the reply cannot be sent at all. */
  plan(reply: OutboundReply, recipient: Recipient, replyToExternalId?: string, context?: ReplyContext): OutboundPart[];
  /** The window of this connection, when a connection option can widen it (Messenger's HUMAN_AGENT tag: 7 days). */
  replyWindowHoursFor?(conn: ConnectionRecord): number;
  /** Sends one part; returns Meta's id for it. `beforeSend` runs once, right before the message request. */
  send(conn: ConnectionRecord, part: OutboundPart, beforeSend?: BeforeSend): Promise<string>;
  markRead?(conn: ConnectionRecord, externalId: string, typing: boolean): Promise<void>;
  /** Turns an error from send() into words for the agent. */
  describeFailure(err: unknown, conn?: ConnectionRecord): SendFailure;
  /** An error Meta reported asynchronously (a failed status), in words for the agent. */
  describeStatusError(code: number, title?: string, details?: string): string;
  /** What the agent reads when a free-form reply is attempted outside the window. */
  windowClosedReason(conn?: ConnectionRecord): string;
}

/** An explicit, checked list: two channels claiming one webhook object is a start-up error. */
export class ChannelRegistry {
  private readonly byObject = new Map<string, Channel>();
  private readonly byKind = new Map<ChannelKind, Channel>();

  constructor(channels: Channel[]) {
    for (const channel of channels) {
      if (this.byKind.has(channel.kind)) throw new Error(`channel ${channel.kind} registered twice`);
      this.byKind.set(channel.kind, channel);
      for (const object of channel.objects) {
        if (this.byObject.has(object)) throw new Error(`webhook object "${object}" claimed by two channels`);
        this.byObject.set(object, channel);
      }
    }
  }

  forBody(body: unknown): Channel | undefined {
    const object = (body as { object?: unknown } | null)?.object;
    return typeof object === 'string' ? this.byObject.get(object) : undefined;
  }

  forKind(kind: ChannelKind): Channel {
    const channel = this.byKind.get(kind);
    if (!channel) throw new Error(`no channel registered for ${kind}`);
    return channel;
  }
}
