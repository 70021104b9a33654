/**
 * What an agent reads for a Messenger or Instagram message: the text, the files worth downloading, readable
 * lines for what is shared rather than sent (posts, reels, links, places), and structured facts as attributes.
 * Nothing is dropped: an attachment the bridge cannot show becomes a line that says what it was.
 */
import type { MediaKind, MediaRef } from '../../core/events';
import { defined, list, num, rec, str, word, type Untrusted } from './untrusted';
import type { MsgAttachment, MsgMessage, MsgPostback, MsgReferral } from './messaging-types';

export interface MessagingContent {
  text: string;
  attachments: MediaRef[];
  replyTo?: string;
  /** The first attachment's type, or "text": for counting and logs. */
  originalType: string;
  placeholderReason?: string;
  attributes: Record<string, unknown>;
}

/** Messenger's "like" (thumbs-up) sticker ids, small to large. */
const LIKE_STICKERS = new Set([369239263222822, 369239343222814, 369239383222810]);

/** Files the bridge downloads and attaches. */
const MEDIA: Readonly<Record<string, MediaKind>> = { image: 'image', audio: 'audio', video: 'video', file: 'document', sticker: 'sticker' };

/** Things shared rather than sent: shown as a line with their link. */
const SHARED: Readonly<Record<string, string>> = {
  share: 'a post', post: 'a post', ig_post: 'an Instagram post', reel: 'a reel', ig_reel: 'an Instagram reel',
  story: 'a story', ig_story: 'an Instagram story', media: 'a post', appointment_booking: 'an appointment booking',
};

export function renderMessage(m: Untrusted<MsgMessage>): MessagingContent {
  const lines: string[] = [];
  const attachments: MediaRef[] = [];
  const attributes: Record<string, unknown> = {};
  const shared: Array<Record<string, unknown>> = [];
  const types: string[] = [];
  const text = str(m.text);
  if (text) lines.push(text);

  const items = list(m.attachments).map((a) => rec<MsgAttachment>(a)).filter((a) => a !== undefined);
  const seenUrls = new Set<string>();
  for (const a of items) {
    const type = word(a.type) ?? '(no type)';
    types.push(type);
    const payload = rec<NonNullable<MsgAttachment['payload']>>(a.payload);
    const url = word(payload?.url) ?? word(a.url);
    const stickerId = num(payload?.sticker_id);
    if (MEDIA[type]) {
      // Until 2026-08-30 a sticker arrives both as `image` (with sticker_id) and as `sticker`: keep one file.
      if (url && seenUrls.has(url)) continue;
      if (!url) {
        lines.push(`(${describeMedia(type)} without a link to download it)`);
        continue;
      }
      seenUrls.add(url);
      const kind: MediaKind = stickerId !== undefined ? 'sticker' : MEDIA[type]!;
      attachments.push(defined({ kind, url }));
      if (stickerId !== undefined && LIKE_STICKERS.has(stickerId) && !text) lines.push('👍');
      continue;
    }
    if (type === 'story_mention') {
      lines.push(`📣 Mentioned you in their story${url ? `: ${url}` : ''}`);
      if (url) attachments.push({ kind: 'image', url });
      attributes.storyMention = defined({ url });
      continue;
    }
    if (type === 'fallback') {
      const title = word(payload?.title) ?? word(a.title);
      lines.push(`🔗 ${[title, url].filter(Boolean).join(' — ') || 'a link'}`);
      shared.push(defined({ type, title, url }));
      continue;
    }
    if (type === 'location') {
      const coords = rec<{ lat: number; long: number }>(payload?.coordinates);
      const lat = num(coords?.lat);
      const long = num(coords?.long);
      lines.push(lat !== undefined && long !== undefined ? `📍 https://maps.google.com/?q=${lat},${long}` : '📍 (a location without coordinates)');
      attributes.location = defined({ latitude: lat, longitude: long, title: word(payload?.title) });
      continue;
    }
    if (type === 'template') {
      const product = rec<{ title: string; subtitle: string; id: string; retailer_id: string }>(list(rec<{ elements: unknown[] }>(payload?.product)?.elements)[0]);
      const title = word(product?.title) ?? word(payload?.title);
      lines.push(`🛍️ Shared ${title ? `a product: ${title}` : 'a product'}`);
      shared.push(defined({ type, title, id: word(product?.id), retailerId: word(product?.retailer_id) }));
      continue;
    }
    const what = SHARED[type];
    if (what) {
      lines.push(`📎 Shared ${what}${url ? `: ${url}` : ''}`);
      shared.push(defined({ type, url, id: word(payload?.id) ?? str(payload?.reel_video_id) ?? numText(payload?.reel_video_id), title: word(payload?.title) }));
      continue;
    }
    lines.push(`(a "${type}" attachment the bridge cannot show${url ? `: ${url}` : ''})`);
    shared.push(defined({ type, url }));
  }
  if (shared.length > 0) attributes.shared = shared;

  const replyTo = rec<NonNullable<MsgMessage['reply_to']>>(m.reply_to);
  const story = rec<{ id: string; url: string }>(replyTo?.story);
  if (story) {
    const storyUrl = word(story.url);
    lines.push(`↩️ Replied to your story${storyUrl ? `: ${storyUrl}` : ''}`);
    attributes.storyReply = defined({ id: word(story.id), url: storyUrl });
  }
  const quickReply = str(rec<{ payload: string }>(m.quick_reply)?.payload);
  if (quickReply !== undefined) attributes.quickReplyPayload = quickReply;
  const referral = referralOf(m.referral);
  if (referral) attributes.referral = referral;
  const commands = list(m.commands).map((c) => word(rec<{ name: string }>(c)?.name)).filter((c) => c !== undefined);
  if (commands.length > 0) attributes.commands = commands;

  let placeholderReason: string | undefined;
  if (m.is_unsupported === true) {
    placeholderReason = 'Meta does not deliver this kind of message to apps; open the conversation in the app to see it';
    lines.push(`⚠️ The customer sent a message that could not be shown here (${placeholderReason}).`);
  } else if (lines.length === 0 && attachments.length === 0) {
    placeholderReason = 'the message had neither text nor attachments';
    lines.push('(an empty message)');
  }
  return defined({
    text: lines.join('\n'),
    attachments,
    replyTo: word(replyTo?.mid),
    originalType: types[0] ?? (text !== undefined ? 'text' : 'unknown'),
    placeholderReason,
    attributes,
  });
}

/** A postback (button, Get Started, persistent menu, ice breaker): the agent reads what the customer tapped. */
export function renderPostback(p: Untrusted<MsgPostback>): MessagingContent {
  const title = word(p.title);
  const payload = str(p.payload);
  const attributes: Record<string, unknown> = { postback: defined({ title, payload }) };
  const referral = referralOf(p.referral);
  if (referral) attributes.referral = referral;
  return { text: title ?? `(tapped a button: ${payload ?? 'no payload'})`, attachments: [], originalType: 'postback', attributes };
}

/** A referral alone (an m.me link or an ad opened into an existing thread): shown as a line, kept as an attribute. */
export function renderReferral(raw: unknown): MessagingContent {
  const referral = referralOf(raw) ?? {};
  const source = word(referral.source);
  const ref = word(referral.ref);
  const from = source === 'ADS' ? 'an ad' : source === 'SHORTLINK' ? 'a link (m.me / ig.me)' : source ? source.toLowerCase() : 'a referral';
  return {
    text: `🔗 The customer came in through ${from}${ref ? ` (ref: ${ref})` : ''}`,
    attachments: [],
    originalType: 'referral',
    attributes: { referral },
  };
}

function referralOf(raw: unknown): Record<string, unknown> | undefined {
  const r = rec<MsgReferral>(raw);
  if (!r) return undefined;
  return defined({
    ref: word(r.ref), source: word(r.source), type: word(r.type), adId: word(r.ad_id), refererUri: word(r.referer_uri),
    adsContext: rec(r.ads_context_data) ? r.ads_context_data : undefined,
  });
}

function describeMedia(type: string): string {
  return type === 'image' ? 'an image' : type === 'audio' ? 'an audio message' : type === 'video' ? 'a video' : type === 'file' ? 'a file' : 'a sticker';
}

function numText(value: unknown): string | undefined {
  const n = num(value);
  return n === undefined ? undefined : String(n);
}
