/**
 * The HTTP side of the Send API, for Messenger and Instagram: one part per request (JSON, or multipart with the
 * file as `filedata` when the part uploads one), paced within Meta's per-Page limits, and the profile lookup of a
 * customer. Which host and path a connection uses is the channel's choice (a SendApiTarget); errors come out of
 * the Graph client already classified.
 */
import type { BeforeSend } from '../channel';
import type { ConnectionRecord } from '../../store/connections';
import type { Pacer } from '../../queue/pacer';
import { PermanentError } from '../../core/errors';
import type { GraphClient } from './graph-client';
import { fetchPlatformFile, type PlatformFileLimits } from './platform-files';
import type { SendApiPart } from './send-api';

/** Where one connection's sends go. */
export interface SendApiTarget {
  graph: GraphClient;
  /** `<page-id>/messages`, `<ig-id>/messages` or `me/messages`. */
  messagesPath: string;
}

/** Meta's per-Page Send API limits (meta-api-notes §5.3): 300 calls/s, of which audio and video 10/s. */
export const SEND_API_RATES = { perSecond: 300, mediaPerSecond: 10 } as const;

export interface SendApiPacers {
  all: Pacer;
  audioVideo: Pacer;
}

interface SendResponse {
  recipient_id?: string;
  message_id?: string;
}

export class SendApiSender {
  constructor(private readonly fileLimits: PlatformFileLimits, private readonly pacers?: SendApiPacers) {}

  async send(target: SendApiTarget, conn: ConnectionRecord, part: SendApiPart, beforeSend?: BeforeSend): Promise<string> {
    const { graph, messagesPath } = target;
    const auth = { Authorization: `Bearer ${conn.metaToken}` };
    let form: FormData | undefined;
    if (part.upload) {
      const file = await fetchPlatformFile(conn, part.upload.url, this.fileLimits, { filename: part.upload.filename, mimeType: part.upload.mimeType });
      form = new FormData();
      for (const [key, value] of Object.entries(part.body)) form.append(key, typeof value === 'string' ? value : JSON.stringify(value));
      form.append('filedata', new Blob([file.bytes], { type: file.mimeType }), file.filename);
    }
    await this.pace(conn, part);
    await beforeSend?.();
    const res = form
      ? await graph.call<SendResponse>(() => graph.http.post(graph.path(messagesPath), form, { headers: auth }))
      : await graph.post<SendResponse>(messagesPath, conn.metaToken, part.body);
    if (!res.message_id) throw new PermanentError('Meta accepted the message but returned no message id');
    return res.message_id;
  }

  /** GET /{user-id}?fields=…: the customer's profile as Meta shows it to this Page or account. */
  async profile(target: SendApiTarget, conn: ConnectionRecord, userId: string, fields: readonly string[]): Promise<Record<string, unknown>> {
    return target.graph.get<Record<string, unknown>>(encodeURIComponent(userId), conn.metaToken, { fields: fields.join(',') });
  }

  private async pace(conn: ConnectionRecord, part: SendApiPart): Promise<void> {
    if (!this.pacers) return;
    const key = `sendapi:${conn.businessId}`;
    await this.pacers.all.take(key);
    if (part.kind === 'audio' || part.kind === 'video') await this.pacers.audioVideo.take(`${key}:av`);
  }
}
