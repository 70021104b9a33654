/**
 * The Messenger channel descriptor: Page webhooks (`object: "page"`), CDN media, the Send API with the Page token,
 * and the customer's name and picture from the User Profile API.
 */
import type { Channel } from '../channel';
import type { GraphClient } from '../meta/graph-client';
import { planMessengerSend } from './outbound';
import { messagingChannel, type MessagingChannelDeps } from '../meta/messaging-channel';
import { str, word } from '../meta/untrusted';
import { messengerTarget } from './sender';
import { MESSENGER, MESSENGER_PROFILE_FIELDS, MESSENGER_SEND, type MessengerProfile } from './types';

export function messengerChannel(deps: MessagingChannelDeps & { facebook: GraphClient }): Channel {
  return messagingChannel({
    flavour: MESSENGER,
    product: MESSENGER_SEND,
    plan: planMessengerSend,
    target: (conn) => messengerTarget(deps.facebook, conn),
    profileFields: MESSENGER_PROFILE_FIELDS,
    toProfile: (raw: { [K in keyof MessengerProfile]?: unknown }) => {
      const name = [word(raw.first_name), word(raw.last_name)].filter(Boolean).join(' ');
      return { name: name || undefined, avatarUrl: word(str(raw.profile_pic)) };
    },
  }, deps);
}
