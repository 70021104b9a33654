/**
 * The Instagram channel descriptor: Instagram webhooks (`object: "instagram"`), CDN media, the Send API with
 * either token kind, and the customer's name, username and picture from the User Profile API.
 */
import type { Channel } from '../channel';
import { planInstagramSend } from './outbound';
import { messagingChannel, type MessagingChannelDeps } from '../meta/messaging-channel';
import { word } from '../meta/untrusted';
import { instagramTarget, type InstagramGraphs } from './sender';
import { INSTAGRAM, INSTAGRAM_PROFILE_FIELDS, INSTAGRAM_SEND, type InstagramProfile } from './types';

export function instagramChannel(deps: MessagingChannelDeps & InstagramGraphs): Channel {
  return messagingChannel({
    flavour: INSTAGRAM,
    product: INSTAGRAM_SEND,
    plan: planInstagramSend,
    target: (conn) => instagramTarget(deps, conn),
    profileFields: INSTAGRAM_PROFILE_FIELDS,
    toProfile: (raw: { [K in keyof InstagramProfile]?: unknown }) => ({
      name: word(raw.name),
      username: word(raw.username),
      avatarUrl: word(raw.profile_pic),
    }),
  }, deps);
}
