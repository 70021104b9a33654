/**
 * WhatsApp media on the fake Graph (meta-api-notes §4): upload (multipart), GET /{media-id} → short-lived URL,
 * download of that URL with the same Bearer token, expiry → 404, DELETE.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Request, Response } from 'express';
import { isMultipart, parseMultipart } from '../http-fake';
import { graphErrors } from './errors';

export interface StoredMedia {
  id: string;
  bytes: Buffer;
  mimeType: string;
  filename?: string;
  /** base64 SHA-256 of the bytes, as Meta reports it in webhooks and on GET /{media-id}. */
  sha256: string;
  /** The business number the media belongs to (upload target or receiving number), when known. */
  phoneNumberId?: string;
}

interface MintedUrl {
  mediaId: string;
  token: string;
  expiresAt: number;
}

/** Upload limits per MIME type (§4 "Supported types / max size"). */
const UPLOAD_LIMITS: Record<string, number> = {
  'audio/aac': 16 << 20, 'audio/amr': 16 << 20, 'audio/mpeg': 16 << 20, 'audio/mp4': 16 << 20, 'audio/ogg': 16 << 20,
  'text/plain': 100 << 20, 'application/pdf': 100 << 20, 'application/msword': 100 << 20,
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 100 << 20,
  'application/vnd.ms-excel': 100 << 20, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 100 << 20,
  'application/vnd.ms-powerpoint': 100 << 20, 'application/vnd.openxmlformats-officedocument.presentationml.presentation': 100 << 20,
  'image/jpeg': 5 << 20, 'image/png': 5 << 20,
  'image/webp': 500 << 10, // stickers: 500 KB animated, 100 KB static; the fake cannot tell them apart
  'video/mp4': 16 << 20, 'video/3gpp': 16 << 20,
};

export function newMediaId(): string {
  // 15–16 digits like Meta's media ids; randomInt spans at most 2^48, so build it in two parts.
  return `${randomInt(1, 10)}${String(randomInt(0, 1e14)).padStart(14, '0')}${randomInt(0, 10)}`;
}

export class MediaStore {
  readonly items = new Map<string, StoredMedia>();
  private readonly urls = new Map<string, MintedUrl>();

  add(m: { id?: string; bytes: Buffer; mimeType: string; filename?: string; phoneNumberId?: string }): string {
    const id = m.id ?? newMediaId();
    const sha256 = createHash('sha256').update(m.bytes).digest('base64');
    this.items.set(id, { id, bytes: m.bytes, mimeType: m.mimeType, filename: m.filename, sha256, phoneNumberId: m.phoneNumberId });
    return id;
  }

  /** A lookaside-style URL (https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=…&ext=…&hash=…) on the fake. */
  mint(baseUrl: string, mediaId: string, token: string, ttlMs: number): string {
    const hash = randomBytes(18).toString('base64url');
    const expiresAt = Date.now() + ttlMs;
    this.urls.set(hash, { mediaId, token, expiresAt });
    return `${baseUrl}/whatsapp_business/attachments/?mid=${mediaId}&ext=${Math.floor(expiresAt / 1000)}&hash=${hash}`;
  }

  resolve(hash: string): MintedUrl | undefined {
    return this.urls.get(hash);
  }

  clear(): void {
    this.items.clear();
    this.urls.clear();
  }
}

export interface MediaContext {
  store: MediaStore;
  baseUrl: () => string;
  ttlMs: number;
  knownToken: (token: string | undefined) => boolean;
  mayUse: (token: string, phoneNumberId: string) => boolean;
}

/** GET /{version}/{media-id}[?phone_number_id=] */
export function getMedia(ctx: MediaContext, req: Request, res: Response, token: string): void {
  const id = String(req.params.id);
  const media = ctx.store.items.get(id);
  const pnid = typeof req.query.phone_number_id === 'string' ? req.query.phone_number_id : undefined;
  // The phone_number_id guard: only answered when it is the number the media belongs to (WA-MEDIA).
  const owner = media?.phoneNumberId;
  if (!media || (pnid && owner && pnid !== owner) || (owner && !ctx.mayUse(token, owner)) || (pnid && !ctx.mayUse(token, pnid))) {
    throw graphErrors.unsupported('get', id);
  }
  res.json({
    messaging_product: 'whatsapp',
    url: ctx.store.mint(ctx.baseUrl(), id, token, ctx.ttlMs),
    mime_type: media.mimeType,
    sha256: media.sha256,
    file_size: String(media.bytes.length),
    id,
  });
}

/** DELETE /{version}/{media-id} */
export function deleteMedia(ctx: MediaContext, req: Request, res: Response, token: string): void {
  const id = String(req.params.id);
  const media = ctx.store.items.get(id);
  if (!media || (media.phoneNumberId && !ctx.mayUse(token, media.phoneNumberId))) throw graphErrors.unsupported('delete', id);
  ctx.store.items.delete(id);
  res.json({ success: true });
}

/**
 * GET of a minted URL: Bearer required (the token that asked for the URL), 404 once expired (Meta's lookaside
 * answers 404 for stale URLs, §4). The lookaside host is not Graph, so its errors are plain text here (UNCONFIRMED).
 */
export function downloadMedia(ctx: MediaContext, req: Request, res: Response): void {
  const auth = req.headers.authorization;
  const token = auth && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : undefined;
  const minted = typeof req.query.hash === 'string' ? ctx.store.resolve(req.query.hash) : undefined;
  if (!token || !ctx.knownToken(token) || (minted && minted.token !== token)) {
    res.status(401).type('text/plain').send('Unauthorized');
    return;
  }
  const media = minted ? ctx.store.items.get(minted.mediaId) : undefined;
  if (!minted || !media || minted.mediaId !== req.query.mid || Date.now() > minted.expiresAt) {
    res.status(404).type('text/plain').send('Not Found');
    return;
  }
  res.status(200).set({
    'Content-Type': media.mimeType,
    'Content-Length': String(media.bytes.length),
    ...(media.filename ? { 'Content-Disposition': `attachment; filename="${media.filename.replace(/"/g, '')}"` } : {}),
  }).end(media.bytes);
}

/** POST /{version}/{phone-number-id}/media (multipart: messaging_product=whatsapp, file, type). */
export async function uploadMedia(ctx: MediaContext, req: Request, res: Response, phoneNumberId: string): Promise<void> {
  if (!isMultipart(req)) throw graphErrors.required('file');
  const parsed = await parseMultipart(req);
  res.locals.parsedMultipart = parsed;
  const product = parsed.fields.messaging_product?.[0];
  if (product === undefined) throw graphErrors.required('messaging_product');
  if (product !== 'whatsapp') throw graphErrors.invalidParam(`Param messaging_product must be one of {WHATSAPP} - got "${product}".`);
  const file = parsed.files.find((f) => f.field === 'file');
  if (!file) throw graphErrors.required('file');
  const mimeType = (parsed.fields.type?.[0] ?? file.mimeType).trim();
  const base = mimeType.split(';')[0]!.trim().toLowerCase();
  const limit = UPLOAD_LIMITS[base];
  if (limit === undefined) throw graphErrors.mediaUpload(`Param file must be a file with one of the following types: ${Object.keys(UPLOAD_LIMITS).join(', ')}. Received file of type '${mimeType}'.`);
  if (file.bytes.length === 0) throw graphErrors.mediaUpload('Uploaded file is empty.');
  if (file.bytes.length > limit) throw graphErrors.mediaUpload(`File of type ${base} is ${file.bytes.length} bytes, over the ${limit}-byte limit.`);
  const id = ctx.store.add({ bytes: file.bytes, mimeType, filename: file.filename || undefined, phoneNumberId });
  res.json({ id });
}
