/**
 * Central redaction: every log line passes through here, so nobody has to remember. Secrets and message text are
 * replaced by markers, phone-number-like digit runs are masked to their last four digits.
 */

const SECRET_KEYS = /^(authorization|api_access_token|access_?token|token|secret|app_?secret|password|verify_?token|signature|x-hub-signature-256|x-chatwoot-signature|cookie|set-cookie|encryption_?keys?|admin_?api_?key)$/i;
const CONTENT_KEYS = /^(text|body|content|caption|message_?text|raw|payload)$/i;
const PHONE_RUN = /(?<![\w.])\+?\d{7,15}(?![\w.])/g;
/**
 * A request id that is a UUID is left as it is: it cannot be a phone number, and masked (1 UUID in 40 has an
 * all-digit first group) it would no longer match the X-Request-Id the caller got back.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, '');
  return digits.length <= 4 ? '***' : `***${digits.slice(-4)}`;
}

/** Masks any digit run that could be a phone number inside free text (ids, urls, error messages). */
export function maskPhonesIn(text: string): string {
  return text.replace(PHONE_RUN, (run) => maskPhone(run));
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (typeof value === 'string') return maskPhonesIn(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: maskPhonesIn(value.message) };
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (SECRET_KEYS.test(key)) out[key] = '[secret]';
      else if (key === 'requestId' && typeof child === 'string' && UUID.test(child)) out[key] = child;
      else if (CONTENT_KEYS.test(key) && child !== undefined && child !== null && typeof child !== 'number' && typeof child !== 'boolean') out[key] = '[content]';
      else out[key] = redact(child, depth + 1);
    }
    return out;
  }
  return value;
}
