/**
 * A WhatsApp Cloud API error → what the agent reads on the failed message, and what the bridge does next.
 * Codes and meanings are Meta's (error-codes reference, meta-api-notes §3.4); the wording and the retry
 * classification are ours. Meta says to decide on `code` (+ details), never on the title or HTTP status.
 */

export interface HumanReason {
  /** "code: title — what to do", for the agent. */
  text: string;
  /** Worth sending again later (throttling, temporary trouble on Meta's side). */
  retryable: boolean;
  /** The access token is no good: the connection needs re-authorisation. */
  reauth: boolean;
}

interface Entry {
  title: string;
  advice: string;
  retryable?: boolean;
  reauth?: boolean;
}

const PERMISSION = 'the connected WhatsApp account lacks a permission this needs; reconnect it and grant every requested permission';
const INVALID = 'WhatsApp rejected the request as malformed; this is a bridge problem — report it to your administrator with the time of the message';
const TRANSIENT = 'a temporary problem at WhatsApp; the bridge retries automatically';
const THROTTLED = 'the bridge retries automatically after a pause';

const REASONS: ReadonlyMap<number, Entry> = new Map<number, Entry>([
  // Authorisation and permissions
  [0, { title: 'Authentication failed', advice: 'WhatsApp could not authenticate the bridge; an administrator must reconnect the WhatsApp account', reauth: true }],
  [190, { title: 'Access token expired', advice: 'the WhatsApp connection has expired or was revoked; an administrator must reconnect the WhatsApp account', reauth: true }],
  [3, { title: 'API method not allowed', advice: PERMISSION }],
  [10, { title: 'Permission denied', advice: PERMISSION }],
  [131005, { title: 'Access denied', advice: PERMISSION }],

  // Throughput and pair limits: retried with backoff
  [4, { title: 'Too many calls', advice: `the app hit its API call limit; ${THROTTLED}`, retryable: true }],
  [80007, { title: 'Rate limit issues', advice: `the WhatsApp Business Account hit its rate limit; ${THROTTLED}`, retryable: true }],
  [130429, { title: 'Rate limit hit', advice: `the number is sending faster than WhatsApp allows; ${THROTTLED}`, retryable: true }],
  [131056, { title: 'Pair rate limit hit', advice: `too many messages to this customer in a short time; ${THROTTLED}`, retryable: true }],

  // Temporary trouble on Meta's side: retried with backoff
  [1, { title: 'API unknown error', advice: TRANSIENT, retryable: true }],
  [2, { title: 'API service error', advice: TRANSIENT, retryable: true }],
  [131000, { title: 'Something went wrong', advice: TRANSIENT, retryable: true }],
  [131016, { title: 'Service unavailable', advice: TRANSIENT, retryable: true }],
  [133004, { title: 'Server temporarily unavailable', advice: TRANSIENT, retryable: true }],
  [131057, { title: 'Account in maintenance mode', advice: 'the WhatsApp account is being upgraded (usually about a minute); the bridge retries automatically', retryable: true }],

  // Invalid requests
  [100, { title: 'Invalid parameter', advice: INVALID }],
  [131008, { title: 'Required parameter is missing', advice: INVALID }],
  [131009, { title: 'Parameter value is not valid', advice: 'WhatsApp rejected a value in the message (for example a reply to a message older than 30 days, or a file it cannot use); change the message and send it again' }],
  [135000, { title: 'Generic user error', advice: INVALID }],
  [33, { title: 'Phone number deleted', advice: 'the business phone number no longer exists on WhatsApp; an administrator must check the connection' }],

  // The customer
  [131021, { title: 'Recipient cannot be sender', advice: 'the customer\'s number is the business number itself; check the contact\'s phone number' }],
  [131026, { title: 'Message undeliverable', advice: 'the customer cannot receive it: the number is not on WhatsApp, their app is too old, or they blocked the business or have not accepted WhatsApp\'s terms; check the number or reach them another way' }],
  [131047, { title: 'Re-engagement message', advice: 'more than 24 hours have passed since the customer last wrote; send an approved template instead.' }],
  [470, { title: 'Re-engagement message', advice: 'more than 24 hours have passed since the customer last wrote (legacy error); send an approved template instead.' }],
  [131049, { title: 'Not delivered to maintain healthy ecosystem engagement', advice: 'WhatsApp limits how many marketing messages one customer receives; do not send this customer marketing messages again for at least 24 hours' }],
  [131050, { title: 'Customer stopped marketing messages', advice: 'the customer has opted out of marketing messages from this business; do not send them marketing templates' }],
  [130403, { title: 'Customer blocked by the business', advice: 'this business has blocked the customer; unblock them first to write to them' }],
  [130472, { title: 'Customer is part of an experiment', advice: 'WhatsApp held this marketing message back as part of a Meta experiment; nothing to fix — send a non-marketing message or reach them another way' }],
  [131062, { title: 'BSUID recipients are not supported for this message', advice: 'this kind of message cannot be sent to a customer known only by their username id; send it to their phone number instead' }],

  // Message content
  [131051, { title: 'Unsupported message type', advice: 'WhatsApp does not accept this kind of message; send it as text or as a supported file type' }],
  [131052, { title: 'Media download error', advice: 'the file could not be downloaded (for example larger than WhatsApp\'s limit); send a smaller or different file' }],
  [131053, { title: 'Media upload error', advice: 'WhatsApp could not use the file (unsupported type, size, or a file type that does not match its content); convert it — e.g. JPEG/PNG, MP4, PDF, OGG — and send it again' }],

  // Templates
  [132000, { title: 'Template parameter count mismatch', advice: 'the number of parameters does not match the template\'s variables; send exactly one value per {{variable}}' }],
  [132001, { title: 'Template does not exist', advice: 'no approved template has this name in this language; check the name and language code in WhatsApp Manager' }],
  [132005, { title: 'Template hydrated text too long', advice: 'with the parameters filled in, the template text is too long; shorten the parameter values' }],
  [132007, { title: 'Template format character policy violated', advice: 'a parameter breaks WhatsApp\'s formatting rules (no line breaks, tabs or more than four spaces in a row); fix the values' }],
  [132012, { title: 'Template parameter format mismatch', advice: 'a parameter has the wrong type for the template (for example text where the header expects an image); check the template\'s header and variables' }],
  [132015, { title: 'Template is paused', advice: 'WhatsApp paused this template for low quality; edit it in WhatsApp Manager or use another template' }],
  [132016, { title: 'Template is disabled', advice: 'WhatsApp permanently disabled this template for low quality; use another template' }],
  [131064, { title: 'Limited for template classification violations', advice: 'WhatsApp restricted sending because templates were misclassified; wait until the restriction is lifted' }],
  [131063, { title: 'Marketing templates disabled on Cloud API', advice: 'this WhatsApp Business Account cannot send marketing templates through the Cloud API; use a utility template or the Marketing Messages API' }],

  // The business account
  [131031, { title: 'Account has been locked', advice: 'the WhatsApp Business Account is locked or restricted; an administrator must check WhatsApp Manager' }],
  [368, { title: 'Temporarily blocked for policy violations', advice: 'the WhatsApp Business Account is restricted for policy violations; an administrator must check WhatsApp Manager' }],
  [131048, { title: 'Spam rate limit hit', advice: 'WhatsApp restricted this number because of low quality or spam reports; stop business-initiated messages and check the number\'s quality in WhatsApp Manager' }],
  [130497, { title: 'Business account restricted in this country', advice: 'the business may not message customers in this customer\'s country' }],
  [131037, { title: 'Display name needs approval', advice: 'the business number\'s display name is not approved yet; an administrator must finish it in WhatsApp Manager' }],
  [131042, { title: 'Business eligibility payment issue', advice: 'there is a problem with the payment method of the WhatsApp Business Account; an administrator must fix billing in WhatsApp Manager' }],
  [131045, { title: 'Incorrect certificate', advice: 'the business phone number is not registered with the Cloud API; an administrator must register it' }],
  [133010, { title: 'Phone number not registered', advice: 'the business phone number is not registered with the Cloud API; an administrator must register it' }],
  [133016, { title: 'Registration rate limit exceeded', advice: 'too many registration attempts for the business number; an administrator must wait 72 hours before trying again' }],
]);

/** 200–299: the per-permission API errors. */
function permissionRange(code: number): Entry | undefined {
  return code >= 200 && code <= 299 ? { title: 'API permission', advice: PERMISSION } : undefined;
}

/** What to tell the agent about a WhatsApp error, and whether to retry or flag re-authorisation. */
/** Every code this bridge explains, for the README's troubleshooting table (src/docs/troubleshooting.ts). */
export function whatsappErrorCatalogue(): Array<{ code: string } & Entry> {
  return [...REASONS].map(([code, entry]) => ({ code: String(code), ...entry }));
}

export function humanReason(err: { code: number; title?: string; details?: string }): HumanReason {
  const entry = REASONS.get(err.code) ?? permissionRange(err.code);
  const details = err.details?.trim().replace(/\.$/, '');
  if (!entry) {
    const title = err.title?.trim() || 'Unknown error';
    return { text: details ? `${err.code}: ${title} — ${details}` : `${err.code}: ${title}`, retryable: false, reauth: false };
  }
  const advice = /[.!]$/.test(entry.advice) ? entry.advice : `${entry.advice}.`;
  return {
    text: `${err.code}: ${entry.title} — ${advice}${details ? ` (WhatsApp: ${details}.)` : ''}`,
    retryable: entry.retryable ?? false,
    reauth: entry.reauth ?? false,
  };
}
