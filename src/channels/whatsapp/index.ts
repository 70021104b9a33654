/**
 * The WhatsApp Cloud API channel descriptor.
 */
import type { Channel } from '../channel';
import type { MediaDownloader } from '../meta/media';
import { parseWhatsAppDelivery } from './webhook';

export function whatsappChannel(media: MediaDownloader): Channel {
  return {
    kind: 'whatsapp',
    objects: ['whatsapp_business_account'],
    parse: parseWhatsAppDelivery,
    fetchMedia: (conn, ref) => media.download(ref, conn.metaToken, conn.businessId),
  };
}
