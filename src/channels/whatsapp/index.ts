/**
 * The WhatsApp Cloud API channel descriptor: webhook parser, media download, and the outbound side.
 */
import type { Channel, OutboundPart, SendFailure } from '../channel';
import type { MediaDownloader } from '../meta/media';
import { GraphApiError, GraphRetryableError } from '../meta/graph-errors';
import { RetryableError, errorMessage } from '../../core/errors';
import { parseWhatsAppDelivery } from './webhook';
import { planWhatsAppSend, type SendPart } from './outbound';
import { humanReason } from './error-reasons';
import { sendTagOf } from '../../core/send-tags';
import type { WhatsAppSender } from './sender';

/** Business-scoped user ids look like "US.13491208655302741918"; phone ids are digits. */
const BSUID = /^[A-Z]{2}\.[A-Za-z0-9]+$/;

export function describeWhatsAppFailure(err: unknown): SendFailure {
  if (err instanceof GraphApiError || err instanceof GraphRetryableError) {
    const code = typeof err.code === 'number' ? err.code : undefined;
    if (code !== undefined) {
      const details = err.message.replace(/^Graph \S+ code \d+: /, '');
      const reason = humanReason({ code, details });
      return { ...reason, retryable: reason.retryable || err instanceof GraphRetryableError };
    }
  }
  return { text: errorMessage(err), retryable: err instanceof RetryableError, reauth: false };
}

export function whatsappChannel(media: MediaDownloader, sender: WhatsAppSender): Channel {
  return {
    kind: 'whatsapp',
    objects: ['whatsapp_business_account'],
    parse: parseWhatsAppDelivery,
    fetchMedia: (conn, ref) => media.download(ref, conn.metaToken, conn.businessId),
    openMedia: (conn, ref) => media.open(ref, conn.metaToken, conn.businessId),
    outbound: {
      replyWindowHours: 24,
      plan: (reply, recipient, replyToExternalId, context) => planWhatsAppSend(
        {
          content: reply.content,
          attachments: reply.attachments,
          replyToExternalId,
          choices: reply.choices,
          template: reply.template as Parameters<typeof planWhatsAppSend>[0]['template'],
        },
        BSUID.test(recipient.id) && !recipient.phone ? { recipient: recipient.id } : { to: recipient.phone ?? recipient.id },
        context?.platformMessageId ? (index) => sendTagOf(context.conn.id, context.platformMessageId!, index) : undefined,
      ),
      send: (conn, part: OutboundPart, beforeSend) => sender.send(conn, part as SendPart, beforeSend),
      markRead: (conn, externalId, typing) => sender.markRead(conn, externalId, typing),
      describeFailure: describeWhatsAppFailure,
      describeStatusError: (code, title, details) => humanReason({ code, title, details }).text,
      windowClosedReason: () => humanReason({ code: 131047 }).text,
    },
  };
}
