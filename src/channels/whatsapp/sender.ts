/**
 * The WhatsApp Cloud API side of an agent reply: upload a part's media (`POST /{phone-number-id}/media`), send the
 * part (`POST /{phone-number-id}/messages`), mark the customer's message read (optionally with the typing
 * indicator). Errors come out of the Graph client already classified.
 */
import type { GraphClient } from '../meta/graph-client';
import type { ConnectionRecord } from '../../store/connections';
import type { BeforeSend } from '../channel';
import { fetchPlatformFile, type PlatformFileLimits } from '../meta/platform-files';
import { withMediaId, type SendPart } from './outbound';
import { PermanentError } from '../../core/errors';
import type { Pacer } from '../../queue/pacer';
import { toOggOpus, whatsappAcceptsAudio } from './audio';

interface SendResponse {
  messages?: Array<{ id?: string }>;
}

export class WhatsAppSender {
  constructor(
    private readonly graph: GraphClient,
    private readonly fileLimits: PlatformFileLimits,
    private readonly pacer?: Pacer,
    private readonly ffmpegPath = 'ffmpeg',
  ) {}

  async send(conn: ConnectionRecord, part: SendPart, beforeSend?: BeforeSend): Promise<string> {
    let body = part.body;
    if (part.media) {
      let file = await fetchPlatformFile(conn, part.media.url, this.fileLimits, { filename: part.media.filename, mimeType: part.media.mimeType });
      if (part.kind === 'audio' && !whatsappAcceptsAudio(file.mimeType)) {
        const converted = await toOggOpus(file, this.ffmpegPath);
        // WhatsApp refuses the upload of such audio (131053), as a document too: say so plainly instead.
        if (!converted) {
          throw new PermanentError(`WhatsApp cannot play ${file.mimeType.split(';')[0]} audio (${file.filename}). Send it as MP3, AAC, M4A or OGG/Opus, or ask your administrator to install ffmpeg on the bridge so it converts audio automatically.`);
        }
        file = converted;
      }
      const form = new FormData();
      form.append('messaging_product', 'whatsapp');
      form.append('type', file.mimeType);
      form.append('file', new Blob([file.bytes], { type: file.mimeType }), file.filename);
      const uploaded = await this.graph.call<{ id?: string }>(() =>
        this.graph.http.post(this.graph.path(`${conn.businessId}/media`), form, { headers: { Authorization: `Bearer ${conn.metaToken}` } }));
      if (!uploaded.id) throw new PermanentError('WhatsApp accepted the upload but returned no media id');
      body = withMediaId(part, uploaded.id);
      if (part.kind === 'audio' && file.mimeType.startsWith('audio/ogg')) {
        body = { ...body, audio: { ...(body.audio as Record<string, unknown>), voice: true } };
      }
    }
    await this.pacer?.take(conn.businessId);
    await beforeSend?.();
    const res = await this.graph.post<SendResponse>(`${conn.businessId}/messages`, conn.metaToken, body);
    const wamid = res.messages?.[0]?.id;
    if (!wamid) throw new PermanentError('WhatsApp accepted the message but returned no id');
    return wamid;
  }

  /** Marks the customer's message (and all before it) read; with typing, shows "typing…" for up to 25 s. */
  async markRead(conn: ConnectionRecord, wamid: string, typing: boolean): Promise<void> {
    await this.graph.post(`${conn.businessId}/messages`, conn.metaToken, {
      messaging_product: 'whatsapp', status: 'read', message_id: wamid, ...(typing ? { typing_indicator: { type: 'text' } } : {}),
    });
  }
}
