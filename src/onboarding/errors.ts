/**
 * What goes wrong while connecting a channel or installing the connector, in words an administrator can act on.
 * The `message` is shown as is (on the connection page, in the CLI), so it names the step and what to do next
 * and never carries a token; `technical` is the upstream reason, for the log only (masked there like every line).
 */
import { GraphApiError } from '../channels/meta/graph-errors';
import { ChatwootNotFound } from '../platforms/chatwoot/client';
import { PermanentError, RetryableError } from '../core/errors';
import type { ErrorCode } from '../http/errors';

export class OnboardingError extends Error {
  override name = 'OnboardingError';
  constructor(
    /** A stable name for the failure (tests and scripts match on it). */
    readonly reason: string,
    message: string,
    /** How the HTTP layer answers: a request the admin can fix (400, 409), or an upstream that failed (502). */
    readonly httpCode: ErrorCode = 'upstream_failed',
    readonly technical?: string,
  ) {
    super(message);
  }
}

/** Graph's own words, shortened: Meta's messages are written for developers but often say exactly what is missing. */
function metaSaid(err: unknown): string {
  const text = err instanceof Error ? err.message.replace(/^Graph \S+( code \d+)?: /, '') : String(err);
  return text.length > 220 ? `${text.slice(0, 217)}…` : text;
}

function graphCode(err: unknown): number | undefined {
  if (err instanceof GraphApiError) return err.graphCode;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * A failed Graph call during onboarding, in plain words. `step` says what the bridge was doing, e.g.
 * "subscribing the app to your WhatsApp Business Account".
 */
export function fromGraph(step: string, err: unknown): OnboardingError {
  const technical = err instanceof Error ? err.message : String(err);
  if (err instanceof RetryableError) {
    return new OnboardingError('meta_unavailable', `Meta did not answer while ${step} (${metaSaid(err)}). Nothing is lost: wait a minute and connect again.`, 'upstream_failed', technical);
  }
  const code = graphCode(err);
  if (code === 190) {
    return new OnboardingError('meta_login_expired', `Facebook no longer accepts this login (it expired or was withdrawn) while ${step}. Click the button again to log in anew.`, 'upstream_failed', technical);
  }
  if (code === 10 || code === 200 || code === 3) {
    return new OnboardingError('meta_permission_missing', `Meta refused ${step}: a permission is missing (${metaSaid(err)}). Log in again and grant every permission the dialog asks for.`, 'upstream_failed', technical);
  }
  if (code === 133005) {
    return new OnboardingError('wrong_pin', 'This number already has a two-step verification PIN, and the one given does not match. Enter the number\'s current PIN and connect again (or reset the PIN in WhatsApp Manager).', 'invalid_request', technical);
  }
  if (code === 133016) {
    return new OnboardingError('registration_limit', 'Meta allows only 10 registration attempts per number in 72 hours, and this number has used them. Try again after the block ends.', 'upstream_failed', technical);
  }
  return new OnboardingError('meta_refused', `Meta refused ${step}: ${metaSaid(err)}`, 'upstream_failed', technical);
}

/** A failed Chatwoot call during the install, in plain words. */
export function fromChatwoot(step: string, baseUrl: string, accountId: number, err: unknown): OnboardingError {
  const technical = err instanceof Error ? err.message : String(err);
  if (err instanceof OnboardingError) return err;
  if (err instanceof RetryableError) {
    return new OnboardingError('chatwoot_unreachable', `Could not reach Chatwoot at ${baseUrl} while ${step} (${technical.replace(/^Chatwoot \S+ \S+: /, '')}). Check the address and that Chatwoot is up, then try again.`, 'upstream_failed', technical);
  }
  const status = err instanceof PermanentError ? err.code : undefined;
  if (status === 401 || status === 403) {
    return new OnboardingError('chatwoot_token_rejected', `Chatwoot refused the token while ${step}: it must be the access token of an administrator of account ${accountId} (Chatwoot → Profile settings → Access token).`, 'invalid_request', technical);
  }
  if (err instanceof ChatwootNotFound) {
    return new OnboardingError('chatwoot_not_found', `Chatwoot at ${baseUrl} has no account ${accountId} (or no such inbox) while ${step}. Check the base URL and the account id.`, 'invalid_request', technical);
  }
  return new OnboardingError('chatwoot_refused', `Chatwoot refused ${step}: ${technical.replace(/^Chatwoot \S+ \S+: /, '')}`, 'upstream_failed', technical);
}
