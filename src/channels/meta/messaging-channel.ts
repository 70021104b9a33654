/**
 * A Channel built from the pieces Messenger and Instagram share: the `entry[].messaging[]` parser, CDN media,
 * the Send API planner, sender and error reasons, and the profile lookup. Each product's index.ts says only what
 * differs: its webhook object, text limit, how attachments travel, which host and path a connection sends to, and
 * which profile fields it reads.
 */
import type { Channel, CustomerProfile, OutboundPart, ReplyContext } from '../channel';
import type { ConnectionRecord } from '../../store/connections';
import type { MediaDownloader } from './media';
import { parseMessagingDelivery, type MessagingFlavour } from './messaging-webhook';
import type { OutboundReply, Recipient } from '../../core/outbound';
import { HUMAN_AGENT_WINDOW_HOURS, RESPONSE_WINDOW_HOURS, windowClosedText, type SendApiContext, type SendApiPart, type SendApiProduct } from './send-api';
import { describeSendApiFailure } from './send-api-errors';
import type { SendApiSender, SendApiTarget } from './send-api-sender';

export interface MessagingChannelSpec {
  flavour: MessagingFlavour;
  product: SendApiProduct;
  /** The product's planner (its outbound.ts). */
  plan(reply: OutboundReply, recipient: Recipient, replyToExternalId?: string, ctx?: SendApiContext): SendApiPart[];
  /** The host and path this connection's sends and profile lookups go to. */
  target(conn: ConnectionRecord): SendApiTarget;
  profileFields: readonly string[];
  toProfile(raw: Record<string, unknown>): CustomerProfile;
}

export interface MessagingChannelDeps {
  media: MediaDownloader;
  sender: SendApiSender;
}

export function humanAgentTagOf(conn: ConnectionRecord): boolean {
  return conn.options?.humanAgentTag === true;
}

export function messagingChannel(spec: MessagingChannelSpec, deps: MessagingChannelDeps): Channel {
  const { flavour, product } = spec;
  const windowHours = (conn: ConnectionRecord): number => (humanAgentTagOf(conn) ? HUMAN_AGENT_WINDOW_HOURS : RESPONSE_WINDOW_HOURS);
  const windowClosed = (conn?: ConnectionRecord): string => windowClosedText(product, conn ? humanAgentTagOf(conn) : false);
  return {
    kind: flavour.channel,
    objects: [flavour.object],
    echoesSends: true,
    parse: (body) => parseMessagingDelivery(body, flavour),
    // CDN links from the webhook: fetched as they are, without the token (it is not Graph that serves them).
    fetchMedia: (_conn, ref) => deps.media.downloadLink(ref),
    openMedia: (conn, ref) => deps.media.open({ ...ref, mediaId: undefined }, '', conn.businessId),
    fetchProfile: async (conn, customerId) => spec.toProfile(await deps.sender.profile(spec.target(conn), conn, customerId, spec.profileFields)),
    outbound: {
      replyWindowHours: RESPONSE_WINDOW_HOURS,
      replyWindowHoursFor: windowHours,
      plan: (reply, recipient, replyToExternalId, ctx?: ReplyContext) => spec.plan(reply, recipient, replyToExternalId, {
        sinceCustomerMs: ctx?.sinceCustomerMs,
        humanAgentTag: ctx ? humanAgentTagOf(ctx.conn) : false,
        platformMessageId: ctx?.platformMessageId,
      }),
      send: (conn, part: OutboundPart, beforeSend) => deps.sender.send(spec.target(conn), conn, part as SendApiPart, beforeSend),
      describeFailure: (err, conn) => describeSendApiFailure(err, product.label, windowClosed(conn)),
      // The Send API answers synchronously; Meta sends no failed statuses for Messenger or Instagram.
      describeStatusError: (code, title, details) => `${code}: ${title ?? 'Send failed'}${details ? ` — ${details}` : ''}`,
      windowClosedReason: windowClosed,
    },
  };
}
