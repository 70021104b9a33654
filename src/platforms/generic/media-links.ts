/**
 * Short-lived download links for customer media, served by the bridge at GET /platform/v1/media/:token.
 * The token is a Fernet token (AES-128-CBC + HMAC-SHA256, the bridge's key ring) over {connection, media
 * reference, expiry}: tamper-proof, expiring, and opaque, so a CDN URL inside a reference (Messenger,
 * Instagram) is not exposed. A link holds no bytes: a GET streams the file from Meta, nothing is kept.
 */
import type { MediaRef } from '../../core/events';
import type { Sealer } from '../../queue/sealed';

export const MEDIA_PATH = '/platform/v1/media';

interface LinkPayload {
  v: 1;
  /** connection id */
  c: string;
  /** the media reference, as the channel parser produced it */
  r: MediaRef;
  /** expiry, unix seconds */
  e: number;
}

export type OpenedLink =
  | { ok: true; connectionId: string; ref: MediaRef }
  | { ok: false; why: 'invalid' | 'expired' };

export class MediaLinks {
  constructor(private readonly sealer: Sealer, private readonly publicUrl: string, private readonly ttlS: number) {}

  mint(connectionId: string, ref: MediaRef, nowMs = Date.now()): { url: string; expiresAt: Date } {
    const e = Math.floor(nowMs / 1000) + this.ttlS;
    const token = this.sealer.seal({ v: 1, c: connectionId, r: ref, e } satisfies LinkPayload);
    return { url: `${this.publicUrl.replace(/\/+$/, '')}${MEDIA_PATH}/${token}`, expiresAt: new Date(e * 1000) };
  }

  open(token: string, nowMs = Date.now()): OpenedLink {
    let payload: LinkPayload;
    try {
      payload = this.sealer.open<LinkPayload>(token);
    } catch {
      return { ok: false, why: 'invalid' };
    }
    if (payload?.v !== 1 || typeof payload.c !== 'string' || typeof payload.e !== 'number' || !payload.r) return { ok: false, why: 'invalid' };
    if (payload.e * 1000 < nowMs) return { ok: false, why: 'expired' };
    return { ok: true, connectionId: payload.c, ref: payload.r };
  }
}
