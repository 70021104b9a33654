/**
 * Audio WhatsApp accepts: AAC, AMR, MP3, MP4 audio and OGG with the Opus codec (meta-api-notes §4). Anything
 * else an agent attaches (WAV, WebM, plain OGG/Vorbis…) is converted to OGG/Opus — WhatsApp's voice-note format
 * — when ffmpeg is installed. Without ffmpeg the part fails with a reason the agent can act on: WhatsApp refuses
 * such files as documents too (131053), so a silent document fallback would only fail later and less clearly.
 */
import { spawn } from 'node:child_process';
import type { DownloadedMedia } from '../meta/media';

const ACCEPTED = new Set(['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4']);

export function whatsappAcceptsAudio(mimeType: string): boolean {
  const [base, ...params] = mimeType.toLowerCase().split(';').map((p) => p.trim());
  if (base === 'audio/ogg') return params.some((p) => /codecs="?opus/.test(p));
  return ACCEPTED.has(base ?? '');
}

/** Converts to mono OGG/Opus with ffmpeg; resolves null when ffmpeg is missing or fails. */
export function toOggOpus(file: DownloadedMedia, ffmpegPath = 'ffmpeg', timeoutMs = 60_000): Promise<DownloadedMedia | null> {
  return new Promise((resolve) => {
    const child = spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-vn', '-ac', '1', '-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg', 'pipe:1'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => { clearTimeout(timer); resolve(null); });
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(chunks);
      resolve(code === 0 && bytes.length > 0
        ? { bytes, mimeType: 'audio/ogg; codecs=opus', filename: file.filename.replace(/\.[^.]+$/, '') + '.ogg' }
        : null);
    });
    child.stdin.end(file.bytes);
  });
}
