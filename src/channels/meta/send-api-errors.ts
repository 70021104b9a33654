/**
 * A Send API error (Messenger, Instagram) → what the agent reads on the failed message, and what the bridge does
 * next: retry what can succeed later, fail what cannot, flag re-authorisation on a dead token. Codes and meanings
 * are Meta's (Messenger Platform error codes, Graph "Page Messages" reference; meta-api-notes §5.3); the wording
 * and the classification are ours. Decided on code + subcode, never on the HTTP status or the message text.
 */
import type { SendFailure } from '../channel';
import { RetryableError, errorMessage } from '../../core/errors';
import { GraphApiError, GraphRetryableError } from './graph-errors';

/** Outside the allowed window: Messenger 10/2018278, Instagram 10/2534022 (subcode from secondary sources). */
export const WINDOW_SUBCODES: ReadonlySet<number> = new Set([2018278, 2534022]);

interface Entry {
  title: string;
  advice: string;
  retryable?: boolean;
  reauth?: boolean;
}

const RATE_LIMIT: Entry = { title: 'Rate limit reached', advice: 'Meta is throttling sends for this Page or account; the bridge sends it again shortly', retryable: true };
const TEMPORARY: Entry = { title: 'Temporary error on Meta\'s side', advice: 'the bridge sends it again shortly', retryable: true };
const PERMISSION: Entry = { title: 'Permission missing', advice: 'the app lacks a permission for this Page or account (pages_messaging / instagram_manage_messages, or Advanced Access); an administrator must grant it and reconnect' };

/** By code; subcodes that change the meaning are looked up first (`code/subcode`). */
const REASONS = new Map<string, Entry>([
  ['10/2018278', { title: 'Outside the messaging window', advice: 'the customer\'s last message is too old for a free reply' }],
  ['10/2534022', { title: 'Outside the messaging window', advice: 'the customer\'s last message is too old for a free reply' }],
  ['10', { title: 'Not allowed', advice: 'Meta refused this send for this app (for the HUMAN_AGENT tag the app needs Meta\'s Human Agent permission); an administrator must check the app\'s permissions' }],
  ['100/2018001', { title: 'No matching user', advice: 'this customer id is unknown to the Page or account; the conversation may belong to another Page' }],
  ['100', { title: 'Invalid parameter', advice: 'Meta refused the message as sent; check the text and the attached file' }],
  ['190', { title: 'Access token invalid or expired', advice: 'an administrator must reconnect the Page or Instagram account', reauth: true }],
  ['200', PERMISSION],
  ['230', { title: 'Messaging not allowed', advice: 'the customer\'s settings or Meta\'s policy do not let this Page message them' }],
  ['368', { title: 'Blocked for policy violations', advice: 'Meta temporarily blocked this Page or account from sending; an administrator must check its quality in Meta Business Suite' }],
  ['551', { title: 'This person isn\'t available right now', advice: 'the customer blocked the Page, left the conversation or cannot receive messages' }],
  ['1200', { title: 'Temporary send failure', advice: 'the bridge sends it again shortly', retryable: true }],
  ['10904', { title: 'Messaging is turned off', advice: 'messages are disabled in this Page\'s settings; an administrator must turn them on' }],
  ['2022', { title: 'Sending disabled for this app', advice: 'Meta temporarily disabled this kind of message for the app after a policy violation' }],
  ['1', TEMPORARY],
  ['2', TEMPORARY],
  ['4', RATE_LIMIT],
  ['17', RATE_LIMIT],
  ['32', RATE_LIMIT],
  ['613', RATE_LIMIT],
]);

/** Every code (and code/subcode) this bridge explains, for the README's troubleshooting table. */
export function sendApiErrorCatalogue(): Array<{ code: string } & Entry> {
  return [...REASONS].map(([code, entry]) => ({ code, ...entry }));
}

export interface SendApiErrorFacts {
  code: number;
  subcode?: number;
  details?: string;
}

/** The agent's words and the bridge's next step for one Send API error. */
export function sendApiReason(err: SendApiErrorFacts, label: string, windowAdvice?: string): SendFailure {
  const entry = (err.subcode !== undefined ? REASONS.get(`${err.code}/${err.subcode}`) : undefined) ?? REASONS.get(String(err.code))
    ?? (err.code >= 200 && err.code <= 299 ? PERMISSION : undefined);
  const details = err.details?.trim().replace(/\.$/, '');
  const code = err.subcode !== undefined ? `${err.code}/${err.subcode}` : String(err.code);
  if (!entry) return { text: `${code}: ${details ?? 'Unknown error'}`, retryable: false, reauth: false };
  // Outside the window, the channel's own words say what is allowed on this connection.
  const said = err.subcode !== undefined && WINDOW_SUBCODES.has(err.subcode) && windowAdvice ? windowAdvice : `${entry.title} — ${entry.advice}.`;
  return {
    text: `${code}: ${said}${details ? ` (${label}: ${details}.)` : ''}`,
    retryable: entry.retryable ?? false,
    reauth: entry.reauth ?? false,
  };
}

/** An error thrown by a send → the agent's words; errors that are not Graph's keep their own message. */
export function describeSendApiFailure(err: unknown, label: string, windowAdvice?: string): SendFailure {
  if ((err instanceof GraphApiError || err instanceof GraphRetryableError) && typeof err.code === 'number') {
    const details = err.message.replace(/^Graph \S+ code \d+: /, '').replace(/^\(#\d+\)\s*/, '');
    const reason = sendApiReason({ code: err.code, subcode: err.subcode, details }, label, windowAdvice);
    return { ...reason, retryable: reason.retryable || err instanceof GraphRetryableError };
  }
  return { text: errorMessage(err), retryable: err instanceof RetryableError, reauth: false };
}
