/**
 * WhatsApp Embedded Signup, server side (meta-api-notes §6.1–6.2). The page posts what Facebook gave it: the
 * login code (from FB.login with the Embedded Signup config_id), the session info of the WA_EMBEDDED_SIGNUP
 * message (waba_id, phone_number_id, and which way the flow finished) and, when the SDK gave one, the login's
 * signedRequest. Then, in this order:
 *
 *   0. the signedRequest, when there is one, is verified with the app secret (constant time, like Meta's
 *      callbacks): its user_id is who granted the token. One that does not verify stops everything (the code is
 *      not spent). The business token cannot say who the person was: it belongs to a Business Integration System
 *      User, so GET /me with it names that system user, not the admin;
 *   1. code → business token (GET /oauth/access_token; the code lives ~30 s, so this is first of the calls);
 *   2. the app is subscribed to the WABA's webhooks (POST /{waba-id}/subscribed_apps), so messages reach us;
 *   3. the number is read through the WABA (GET /{waba-id}/phone_numbers): this proves the new token reaches it
 *      and that it belongs to that WABA, whatever the browser claimed;
 *   4. registered for Cloud API unless it already is (status CONNECTED) or it stays on the WhatsApp Business app
 *      (coexistence, where the app owns registration);
 *   5. placed into the tenant's Chatwoot installation: inbox found or created, reply window, connection stored
 *      with the token sealed.
 * Every step is safe to repeat, so "connect again" is always the answer to a failure halfway.
 */
import { randomInt } from 'node:crypto';
import type { GraphClient } from '../channels/meta/graph-client';
import { maskPhone } from '../log/redact';
import type { ChatwootInstallation } from '../store/chatwoot-installations';
import type { ChatwootInstaller, PlacedConnection } from './chatwoot-installer';
import { OnboardingError, fromGraph } from './errors';
import type { MetaOAuth } from './meta-oauth';
import { parseSignedRequest, SignedRequestError } from '../channels/meta/signed-request';

/** The `event` values of a WA_EMBEDDED_SIGNUP message that mean the customer finished. */
export const FINISH_EVENTS = ['FINISH', 'FINISH_ONLY_WABA', 'FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING'] as const;
export type FinishEvent = (typeof FINISH_EVENTS)[number];

export interface SignupSession {
  code: string;
  event: FinishEvent;
  wabaId: string;
  phoneNumberId?: string;
  /** The number's two-step verification PIN; one is made up when registration needs one and none was given. */
  pin?: string;
  /**
   * FB.login's authResponse.signedRequest (HMAC-SHA256 with the app secret; its payload names the app-scoped
   * user_id). UNCONFIRMED whether Meta's SDK includes it in the code flow Embedded Signup uses (response_type
   * 'code'): without it the connection simply records no granting user, and the WABA's own revocation webhook
   * (account_update PARTNER_APP_UNINSTALLED / PARTNER_REMOVED) still disconnects it. A bare userID from the
   * browser is never taken: anyone can type one.
   */
  signedRequest?: string;
}

export interface SignupResult {
  placed: PlacedConnection;
  phone: { id: string; masked: string; verifiedName?: string };
  registration: 'registered' | 'already_registered' | 'left_to_business_app';
  /** Shown once, never stored: the PIN the bridge set when the admin gave none. */
  generatedPin?: string;
}

interface PhoneNumberJson {
  id: string;
  display_phone_number?: string;
  verified_name?: string;
  status?: string;
  code_verification_status?: string;
  platform_type?: string;
}

export interface EmbeddedSignupDeps {
  graph: GraphClient;
  oauth: MetaOAuth;
  installer: ChatwootInstaller;
  /** Verifies the login's signedRequest. */
  appSecret: string;
}

/** Who logged in, from a signedRequest that verifies; none without one; an OnboardingError (400) for one that does not. */
function grantingUserOf(signedRequest: string | undefined, appSecret: string): string | undefined {
  if (signedRequest === undefined) return undefined;
  try {
    const { userId } = parseSignedRequest(signedRequest, appSecret);
    if (!userId) throw new SignedRequestError('the payload names no user');
    return userId;
  } catch (err) {
    if (!(err instanceof SignedRequestError)) throw err;
    throw new OnboardingError('signed_request_refused',
      "Facebook's login answer did not verify (its signature is wrong or it names no one), so nothing was connected. Reload the page and click \"Connect WhatsApp\" again.",
      'invalid_request', `signedRequest refused: ${err.message}`);
  }
}

/** A code Graph refused: expired, used, or issued to another app. The admin's way out is the same for all. */
function codeRefused(err: unknown): OnboardingError {
  const wrapped = fromGraph('exchanging the Facebook login code', err);
  if (wrapped.reason !== 'meta_refused') return wrapped;
  return new OnboardingError('login_code_refused',
    'Facebook did not accept the login code: it expired (codes last about 30 seconds) or was already used. Click "Connect WhatsApp" again.',
    'invalid_request', wrapped.technical);
}

export async function completeEmbeddedSignup(deps: EmbeddedSignupDeps, inst: ChatwootInstallation, session: SignupSession): Promise<SignupResult> {
  const { graph } = deps;
  // Before the code is spent: a refused signedRequest leaves nothing done.
  const grantedByUserId = grantingUserOf(session.signedRequest, deps.appSecret);
  const { accessToken } = await deps.oauth.exchangeCode(session.code).catch((err: unknown) => { throw codeRefused(err); });

  await graph.post(`${session.wabaId}/subscribed_apps`, accessToken, {})
    .catch((err: unknown) => { throw fromGraph("subscribing this bridge's app to your WhatsApp Business Account", err); });

  const { data: numbers = [] } = await graph.get<{ data?: PhoneNumberJson[] }>(`${session.wabaId}/phone_numbers`, accessToken, {
    fields: 'id,display_phone_number,verified_name,status,code_verification_status,platform_type', limit: '100',
  }).catch((err: unknown) => { throw fromGraph("reading your WhatsApp Business Account's phone numbers", err); });
  const number = pickNumber(numbers, session.phoneNumberId);

  let registration: SignupResult['registration'] = 'already_registered';
  let generatedPin: string | undefined;
  if (session.event === 'FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING') {
    registration = 'left_to_business_app';
  } else if (number.status !== 'CONNECTED') {
    const pin = session.pin ?? (generatedPin = String(randomInt(0, 1_000_000)).padStart(6, '0'));
    await graph.post(`${number.id}/register`, accessToken, { messaging_product: 'whatsapp', pin })
      .catch((err: unknown) => { throw fromGraph('registering the number for the Cloud API', err); });
    registration = 'registered';
  }

  const masked = maskPhone(number.display_phone_number ?? number.id).replace(/^\*+/, '…');
  const name = `WhatsApp ${number.verified_name ?? ''} ${masked}`.replace(/\s+/g, ' ').trim();
  const placed = await deps.installer.place(inst, {
    tenantId: inst.tenantId, channel: 'whatsapp', businessId: number.id, wabaId: session.wabaId, metaToken: accessToken, grantedByUserId, name,
  });
  return { placed, phone: { id: number.id, masked, verifiedName: number.verified_name }, registration, generatedPin };
}

function pickNumber(numbers: PhoneNumberJson[], wanted: string | undefined): PhoneNumberJson {
  if (wanted) {
    const found = numbers.find((n) => n.id === wanted);
    if (!found) {
      throw new OnboardingError('number_not_in_waba', 'The phone number Facebook reported is not in the WhatsApp Business Account you shared (or this login cannot see it). Run the signup again and pick the number there.', 'invalid_request');
    }
    return found;
  }
  if (numbers.length === 1) return numbers[0]!;
  throw new OnboardingError(numbers.length === 0 ? 'no_number' : 'choose_number', numbers.length === 0
    ? 'The WhatsApp Business Account you shared has no phone number yet. Run the signup again and add a number.'
    : 'The WhatsApp Business Account you shared has several phone numbers and the signup did not say which one to connect. Run the signup again and pick the number there.', 'invalid_request');
}
