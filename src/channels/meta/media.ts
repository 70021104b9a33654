/**
 * Downloading media a customer sent. WhatsApp gives a media id: GET /{media-id} returns a URL valid for about
 * five minutes, which must itself be fetched with the Bearer token. Size and time are capped; a 404 on the URL
 * means it expired, so the URL is fetched once more. The checksum Meta reports is verified.
 */
import { createHash } from 'node:crypto';
import { isAxiosError } from 'axios';
import type { MediaRef } from '../../core/events';
import type { GraphClient } from './graph-client';

export interface DownloadedMedia {
  bytes: Buffer;
  mimeType: string;
  filename: string;
}

export class MediaDownloadError extends Error {
  override name = 'MediaDownloadError';
}

interface MediaUrlResponse {
  url: string;
  mime_type?: string;
  sha256?: string;
  file_size?: string | number;
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'video/mp4': 'mp4', 'video/3gpp': '3gp',
  'audio/ogg': 'ogg', 'audio/mpeg': 'mp3', 'audio/mp4': 'm4a', 'audio/aac': 'aac', 'audio/amr': 'amr',
  'application/pdf': 'pdf', 'text/plain': 'txt',
};

export function defaultFilename(ref: MediaRef, mimeType: string): string {
  if (ref.filename) return ref.filename;
  const base = mimeType.split(';')[0]!.trim();
  const prefix = ref.voice ? 'voice-note' : ref.kind;
  return `${prefix}.${EXTENSIONS[base] ?? 'bin'}`;
}

export class MediaDownloader {
  constructor(private readonly graph: GraphClient, private readonly limits: { maxBytes: number; timeoutMs: number }) {}

  async download(ref: MediaRef, token: string, businessId: string): Promise<DownloadedMedia> {
    if (!ref.mediaId && !ref.url) throw new MediaDownloadError('no media id or url');
    let lastErr: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      const meta = ref.mediaId
        ? await this.graph.get<MediaUrlResponse>(ref.mediaId, token, { phone_number_id: businessId })
        : { url: ref.url!, mime_type: ref.mimeType, sha256: ref.sha256 };
      const declared = Number(meta.file_size);
      if (Number.isFinite(declared) && declared > this.limits.maxBytes) {
        throw new MediaDownloadError(`file is ${declared} bytes, over the ${this.limits.maxBytes}-byte limit`);
      }
      try {
        const res = await this.graph.http.get<ArrayBuffer>(meta.url, {
          baseURL: undefined,
          headers: { Authorization: `Bearer ${token}` },
          responseType: 'arraybuffer',
          maxContentLength: this.limits.maxBytes,
          timeout: this.limits.timeoutMs,
          maxRedirects: 3,
        });
        const bytes = Buffer.from(res.data);
        const expected = ref.sha256 ?? meta.sha256;
        if (expected && !checksumMatches(bytes, expected)) throw new MediaDownloadError('checksum mismatch');
        const mimeType = ref.mimeType ?? meta.mime_type ?? String(res.headers['content-type'] ?? 'application/octet-stream');
        return { bytes, mimeType, filename: defaultFilename(ref, mimeType) };
      } catch (err) {
        lastErr = err;
        // An expired media URL answers 404: ask Graph for a fresh one, once.
        if (isAxiosError(err) && err.response?.status === 404 && ref.mediaId) continue;
        break;
      }
    }
    if (lastErr instanceof MediaDownloadError) throw lastErr;
    if (isAxiosError(lastErr)) {
      if (lastErr.code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(lastErr.message)) {
        throw new MediaDownloadError(`file is over the ${this.limits.maxBytes}-byte limit`);
      }
      throw new MediaDownloadError(lastErr.response ? `download answered ${lastErr.response.status}` : `download failed (${lastErr.code ?? 'network'})`);
    }
    throw lastErr;
  }
}

function checksumMatches(bytes: Buffer, expected: string): boolean {
  const digest = createHash('sha256').update(bytes).digest();
  return digest.toString('base64') === expected || digest.toString('hex') === expected.toLowerCase();
}
