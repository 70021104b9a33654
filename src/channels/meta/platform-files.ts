/**
 * Fetching a file an agent attached on the platform (Chatwoot's data_url redirects to the stored blob), to
 * upload it to Meta. The link must point at the connection's own platform host (or a host an operator added);
 * its redirects are followed hop by hop, each checked again, to public addresses only; size and time are capped
 * (src/net/safe-fetch.ts).
 */
import { isAxiosError } from 'axios';
import { PermanentError, RetryableError } from '../../core/errors';
import type { ConnectionRecord } from '../../store/connections';
import { platformFilePolicy } from '../../net/host-rules';
import { safeGet, UnsafeUrlError } from '../../net/safe-fetch';
import type { DownloadedMedia } from './media';

export interface PlatformFileLimits {
  maxBytes: number;
  timeoutMs: number;
  /** MEDIA_ALLOWED_HOSTS: hosts besides the platform's own that attachments may come from. */
  extraHosts?: readonly string[];
}

/** Storage services redirect once or twice (Rails' blob redirect, then a signed storage URL). */
const MAX_REDIRECTS = 5;

/** The platform's base address the connection was set up with: where its attachments are expected to live. */
export function platformUrlOf(conn: ConnectionRecord): string {
  return conn.platform.kind === 'chatwoot' ? conn.platform.baseUrl : conn.platform.url;
}

export async function fetchPlatformFile(conn: ConnectionRecord, url: string, limits: PlatformFileLimits, hint: { filename?: string; mimeType?: string } = {}): Promise<DownloadedMedia> {
  try {
    const res = await safeGet<ArrayBuffer>(url, {
      policy: platformFilePolicy(platformUrlOf(conn), limits.extraHosts),
      responseType: 'arraybuffer',
      maxBytes: limits.maxBytes,
      timeoutMs: limits.timeoutMs,
      maxRedirects: MAX_REDIRECTS,
    });
    const mimeType = hint.mimeType ?? String(res.headers['content-type'] ?? 'application/octet-stream');
    return { bytes: Buffer.from(res.data), mimeType, filename: hint.filename ?? (fileNameOf(res.finalUrl) || 'file') };
  } catch (err) {
    if (err instanceof UnsafeUrlError) throw new PermanentError(`the attachment could not be fetched: ${err.message}`);
    if (!isAxiosError(err)) {
      if ((err as { code?: unknown }).code === 'ETIMEDOUT') throw new RetryableError(`attachment download failed (${(err as Error).message})`);
      throw err;
    }
    if (/maxContentLength/.test(err.message)) throw new PermanentError(`the attachment is over the ${limits.maxBytes}-byte limit`);
    const status = err.response?.status;
    if (status === undefined || status >= 500 || status === 429) throw new RetryableError(`attachment download failed (${status ?? err.code ?? 'network'})`);
    throw new PermanentError(`attachment could not be downloaded from the platform (${status})`);
  }
}

/** The last path segment, decoded when it can be (a malformed %-escape is kept as it is). */
function fileNameOf(url: string): string {
  const last = new URL(url).pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}
