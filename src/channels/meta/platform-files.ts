/**
 * Fetching a file an agent attached on the platform (Chatwoot's data_url redirects to the stored blob), to
 * upload it to Meta. Redirects are followed a few times, size and time are capped.
 */
import axios, { isAxiosError } from 'axios';
import http from 'node:http';
import https from 'node:https';
import { PermanentError, RetryableError } from '../../core/errors';
import type { DownloadedMedia } from './media';

const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

export async function fetchPlatformFile(url: string, limits: { maxBytes: number; timeoutMs: number }, hint: { filename?: string; mimeType?: string } = {}): Promise<DownloadedMedia> {
  try {
    const res = await axios.get<ArrayBuffer>(url, {
      responseType: 'arraybuffer', maxRedirects: 5, maxContentLength: limits.maxBytes, timeout: limits.timeoutMs, httpAgent, httpsAgent,
    });
    const mimeType = hint.mimeType ?? String(res.headers['content-type'] ?? 'application/octet-stream');
    const fromUrl = decodeURIComponent(new URL(res.request?.res?.responseUrl ?? url).pathname.split('/').pop() ?? '');
    return { bytes: Buffer.from(res.data), mimeType, filename: hint.filename ?? (fromUrl || 'file') };
  } catch (err) {
    if (!isAxiosError(err)) throw err;
    const status = err.response?.status;
    if (status === undefined || status >= 500 || status === 429) throw new RetryableError(`attachment download failed (${status ?? err.code ?? 'network'})`);
    throw new PermanentError(`attachment could not be downloaded from the platform (${status})`);
  }
}
