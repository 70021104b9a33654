/**
 * Scans captured log lines (the JSON lines a Bridge writes to its logStream, or a bridge process's stdout) for
 * what must never be logged, and for lines that lack the request or job they belong to. For any test that ran
 * traffic through a bridge: give it the message texts (markers), tokens and full phone numbers it used.
 *
 *   const findings = scanLogs(h.logs, { markers: ['MARKER-3f9c'], tokens: [META_TOKEN], phones: ['16505551234'] });
 *   assert.deepEqual(findings, []);               // or: assertLogsClean(h.logs, {...})
 *
 * What counts as a leak:
 *   marker  the text itself, as written or JSON-escaped (a marker with quotes or non-ASCII still matches)
 *   token   the token, as written, JSON-escaped or URL-encoded, or any 12-character piece of it (a token cut
 *           short, or shown without its prefix, still leaks most of it)
 *   phone   the full number's digits, with or without "+", or written with separators (+1 650-555-1234);
 *           the masked form (***1234) is fine
 * With `context: true` (or options), every JSON line must carry a requestId or a jobId, except lines whose
 * message is exempt: process-level lines written outside any request or job (start, stop, connection errors).
 */

export interface LogScanOptions {
  markers?: readonly string[];
  tokens?: readonly string[];
  phones?: readonly string[];
  /** Require a requestId or jobId on every line not exempt (by message). */
  context?: boolean | { exempt?: readonly RegExp[] };
}

export interface LogFinding {
  /** Index of the line in the input. */
  line: number;
  kind: 'marker' | 'token' | 'phone' | 'no_context' | 'not_json';
  /** What was found, itself masked so the report does not leak it again. */
  what: string;
  /** The start of the offending line, with what was found in it replaced by "[found]". */
  excerpt: string;
}

/**
 * Lines the bridge writes outside any request or job, by message: start-up and shutdown, index creation, the
 * expiry sweeper, connection errors of Redis and the queue. Pass `context: { exempt }` to widen or narrow this.
 */
export const PROCESS_LEVEL_MESSAGES: readonly RegExp[] = [
  /^bridge (started|stopped)$/, /^signal received/, /^shutdown (did not finish|failed)/, /^TTL index refused/,
  /^expired records swept$/, /^sweep failed$/, /^redis error$/, /^queue error$/,
];

const TOKEN_PIECE = 12;

function escapedForms(text: string): string[] {
  const json = JSON.stringify(text).slice(1, -1);
  let url = text;
  try { url = encodeURIComponent(text); } catch { /* lone surrogate: no URL form */ }
  return [...new Set([text, json, url])].filter((s) => s.length > 0);
}

/** Every 12-character window of the token (or the token itself, when shorter), in each escaped form. */
function tokenForms(token: string): string[] {
  const pieces = token.length <= TOKEN_PIECE ? [token] : Array.from({ length: token.length - TOKEN_PIECE + 1 }, (_, i) => token.slice(i, i + TOKEN_PIECE));
  return [...new Set(pieces.flatMap(escapedForms))];
}

/** The number as digits, optionally with separators (space, dot, dash, parentheses) between any of them. */
function phonePattern(phone: string): RegExp {
  const digits = phone.replace(/\D/g, '');
  return new RegExp(`(?<!\\d)\\+?${digits.split('').join('[\\s.()\\-]{0,2}')}(?!\\d)`);
}

function mask(text: string): string {
  return text.length <= 4 ? '***' : `${text.slice(0, 2)}…${text.slice(-2)} (${text.length} chars)`;
}

export function scanLogs(lines: readonly string[], opts: LogScanOptions): LogFinding[] {
  const findings: LogFinding[] = [];
  const markers = (opts.markers ?? []).filter(Boolean).map((m) => ({ m, forms: escapedForms(m) }));
  const tokens = (opts.tokens ?? []).filter(Boolean).map((t) => ({ t, forms: tokenForms(t) }));
  const phones = (opts.phones ?? []).filter((p) => p.replace(/\D/g, '').length >= 7).map((p) => ({ p, re: phonePattern(p) }));
  const exempt = opts.context && typeof opts.context === 'object' ? opts.context.exempt ?? PROCESS_LEVEL_MESSAGES : PROCESS_LEVEL_MESSAGES;
  const hide = (line: string): string => {
    let out = line;
    for (const { forms } of [...markers, ...tokens]) for (const f of forms) out = out.split(f).join('[found]');
    for (const { re } of phones) out = out.replace(new RegExp(re.source, 'g'), '[found]');
    return out.slice(0, 160);
  };
  lines.forEach((line, index) => {
    const add = (kind: LogFinding['kind'], what: string) => findings.push({ line: index, kind, what, excerpt: hide(line) });
    for (const { m, forms } of markers) if (forms.some((f) => line.includes(f))) add('marker', mask(m));
    for (const { t, forms } of tokens) if (forms.some((f) => line.includes(f))) add('token', mask(t));
    for (const { p, re } of phones) if (re.test(line)) add('phone', mask(p));
    if (!opts.context) return;
    let parsed: unknown;
    try { parsed = JSON.parse(line); } catch { add('not_json', 'a line that is not JSON'); return; }
    const record = (parsed ?? {}) as { requestId?: unknown; jobId?: unknown; message?: unknown };
    if (record.requestId !== undefined || record.jobId !== undefined) return;
    const message = typeof record.message === 'string' ? record.message : '';
    if (!exempt.some((re) => re.test(message))) add('no_context', `"${message.slice(0, 80)}" has no requestId or jobId`);
  });
  return findings;
}

/** Throws with a readable list when scanLogs finds anything. */
export function assertLogsClean(lines: readonly string[], opts: LogScanOptions): void {
  const findings = scanLogs(lines, opts);
  if (findings.length === 0) return;
  const shown = findings.slice(0, 20).map((f) => `  line ${f.line}: ${f.kind}: ${f.what}\n    ${f.excerpt}`).join('\n');
  throw new Error(`${findings.length} log finding(s) in ${lines.length} lines:\n${shown}`);
}
