/**
 * Downloading media a customer sent. WhatsApp gives a media id: GET /{media-id} returns a URL valid for about
 * five minutes, which must itself be fetched with the Bearer token. Size and time are capped; a 404 on the URL
 * means it expired, so the URL is fetched once more. The checksum Meta reports is verified. Every URL (from Graph
 * or straight from a webhook) is fetched only from Meta's media hosts or hosts an operator configured, never from
 * an internal address, with redirects checked hop by hop (src/net/safe-fetch.ts).
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { isAxiosError } from 'axios';
import type { MediaRef } from '../../core/events';
import type { GraphClient } from './graph-client';
import { metaMediaPolicy, type HostPolicy } from '../../net/host-rules';
import { safeGet, UnsafeUrlError } from '../../net/safe-fetch';

export interface DownloadedMedia {
  bytes: Buffer;
  mimeType: string;
  filename: string;
}

/** A file being streamed from Meta: the bytes arrive through `stream`, checked on the way (size, checksum). */
export interface MediaStream {
  stream: Readable;
  mimeType: string;
  filename: string;
  /** From Meta's Content-Length, when it sent one. */
  length?: number;
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

export interface MediaLimits {
  maxBytes: number;
  timeoutMs: number;
  /** MEDIA_ALLOWED_HOSTS: hosts besides Meta's (and the configured Graph host) media may come from. */
  extraHosts?: readonly string[];
}

/** Redirects a media link may take; Meta's links answer directly. */
const MAX_REDIRECTS = 3;

export class MediaDownloader {
  private readonly hosts: HostPolicy;

  constructor(private readonly graph: GraphClient, private readonly limits: MediaLimits) {
    this.hosts = metaMediaPolicy({ graphBaseUrls: [graph.opts.baseUrl], extraHosts: limits.extraHosts });
  }

  /** Where the bytes are: WhatsApp's short-lived URL for a media id (asked afresh each time), or the given link. */
  private async locate(ref: MediaRef, token: string, businessId: string): Promise<MediaUrlResponse> {
    const meta = ref.mediaId
      // Encoded: the id comes from the webhook, and "../me" would otherwise send the token to another Graph path.
      ? await this.graph.get<MediaUrlResponse>(encodeURIComponent(ref.mediaId), token, { phone_number_id: businessId })
      : { url: ref.url!, mime_type: ref.mimeType, sha256: ref.sha256 };
    const declared = Number(meta.file_size);
    if (Number.isFinite(declared) && declared > this.limits.maxBytes) {
      throw new MediaDownloadError(`file is ${declared} bytes, over the ${this.limits.maxBytes}-byte limit`);
    }
    return meta;
  }

  async download(ref: MediaRef, token: string, businessId: string): Promise<DownloadedMedia> {
    if (!ref.mediaId && !ref.url) throw new MediaDownloadError('no media id or url');
    let lastErr: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      const meta = await this.locate(ref, token, businessId);
      try {
        const res = await safeGet<ArrayBuffer>(meta.url, {
          policy: this.hosts,
          headers: authFor(ref, token),
          responseType: 'arraybuffer',
          maxBytes: this.limits.maxBytes,
          timeoutMs: this.limits.timeoutMs,
          maxRedirects: MAX_REDIRECTS,
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
    if (lastErr instanceof UnsafeUrlError) throw new MediaDownloadError(`not fetched: ${lastErr.message}`);
    if (isAxiosError(lastErr)) {
      if (lastErr.code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(lastErr.message)) {
        throw new MediaDownloadError(`file is over the ${this.limits.maxBytes}-byte limit`);
      }
      throw new MediaDownloadError(lastErr.response ? `download answered ${lastErr.response.status}` : `download failed (${lastErr.code ?? 'network'})`);
    }
    throw lastErr;
  }

  /** A file Meta linked to in the webhook (Messenger and Instagram attachments), fetched without a token. */
  async downloadLink(ref: MediaRef): Promise<DownloadedMedia> {
    if (!ref.url) throw new MediaDownloadError('no url');
    return this.download({ ...ref, mediaId: undefined }, '', '');
  }

  /**
   * Like download(), but streamed: nothing is held in memory beyond a chunk, nothing is written anywhere. For
   * links a platform follows (GET /platform/v1/media/:token). Errors before the first byte throw; later ones
   * surface on the stream.
   */
  async open(ref: MediaRef, token: string, businessId: string): Promise<MediaStream> {
    if (!ref.mediaId && !ref.url) throw new MediaDownloadError('no media id or url');
    for (let attempt = 0; ; attempt++) {
      const meta = await this.locate(ref, token, businessId);
      try {
        const res = await safeGet<Readable>(meta.url, {
          policy: this.hosts,
          headers: authFor(ref, token),
          responseType: 'stream',
          maxBytes: this.limits.maxBytes,
          timeoutMs: this.limits.timeoutMs,
          maxRedirects: MAX_REDIRECTS,
        });
        const length = Number(res.headers['content-length']);
        if (Number.isFinite(length) && length > this.limits.maxBytes) {
          res.data.destroy();
          throw new MediaDownloadError(`file is ${length} bytes, over the ${this.limits.maxBytes}-byte limit`);
        }
        const mimeType = ref.mimeType ?? meta.mime_type ?? String(res.headers['content-type'] ?? 'application/octet-stream');
        const stream = res.data.pipe(checked(this.limits.maxBytes, ref.sha256 ?? meta.sha256));
        res.data.on('error', (err) => stream.destroy(err));
        return { stream, mimeType, filename: defaultFilename(ref, mimeType), length: Number.isFinite(length) ? length : undefined };
      } catch (err) {
        if (isAxiosError(err)) (err.response?.data as Readable | undefined)?.destroy?.();
        // An expired media URL answers 404: ask Graph for a fresh one, once.
        if (isAxiosError(err) && err.response?.status === 404 && ref.mediaId && attempt === 0) continue;
        if (err instanceof UnsafeUrlError) throw new MediaDownloadError(`not fetched: ${err.message}`);
        if (err instanceof MediaDownloadError || !isAxiosError(err)) throw err;
        throw new MediaDownloadError(err.response ? `download answered ${err.response.status}` : `download failed (${err.code ?? 'network'})`);
      }
    }
  }
}

/**
 * A WhatsApp media URL (from GET /{media-id}) needs the token. A link that came in the webhook itself (Messenger
 * and Instagram CDN URLs) is fetched without it: the token goes to Graph only.
 */
function authFor(ref: MediaRef, token: string): Record<string, string> {
  return ref.mediaId ? { Authorization: `Bearer ${token}` } : {};
}

function checksumMatches(bytes: Buffer, expected: string): boolean {
  return digestMatches(createHash('sha256').update(bytes).digest(), expected);
}

function digestMatches(digest: Buffer, expected: string): boolean {
  return digest.toString('base64') === expected || digest.toString('hex') === expected.toLowerCase();
}

/**
 * Passes bytes through, one chunk behind, counting and hashing them: when the size goes over the limit or the
 * checksum does not match at the end, the stream errors before its last chunk is let out, so a receiver never
 * sees a complete-looking wrong file.
 */
function checked(maxBytes: number, expectedSha256: string | undefined): Transform {
  const hash = createHash('sha256');
  let held: Buffer | undefined;
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total > maxBytes) { done(new MediaDownloadError(`file is over the ${maxBytes}-byte limit`)); return; }
      hash.update(chunk);
      const previous = held;
      held = chunk;
      done(null, previous);
    },
    flush(done) {
      if (expectedSha256 && !digestMatches(hash.digest(), expectedSha256)) { done(new MediaDownloadError('checksum mismatch')); return; }
      done(null, held);
    },
  });
}
