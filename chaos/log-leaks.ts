/**
 * Minimal log scan for the chaos run (test/support/log-scan.ts, another engineer's scanLogs, did not exist yet
 * when this was written): finds lines carrying a secret text (message marker, tokens, keys) or a full phone
 * number. A finding names what leaked and where, never the value.
 */

export interface LogLeak {
  /** The name of what leaked ('marker', 'META_TOKEN', 'phone'…). */
  what: string;
  /** Index of the line in the scanned output. */
  line: number;
}

/** `secrets`: name → exact text that must not appear. `phones`: E.164 digits that must not appear unmasked. */
export function findLogLeaks(lines: string[], secrets: Record<string, string>, phones: Iterable<string>): LogLeak[] {
  const phoneSet = new Set(phones);
  const named = Object.entries(secrets).filter(([, v]) => v.length > 0);
  const leaks: LogLeak[] = [];
  lines.forEach((text, line) => {
    for (const [what, value] of named) if (text.includes(value)) leaks.push({ what, line });
    // Digit runs, so a number inside "+49…", "wa_id":"49…" or a URL is found and a masked one (49•••12) is not.
    for (const run of text.match(/\d{8,}/g) ?? []) if (phoneSet.has(run)) leaks.push({ what: 'phone', line });
  });
  return leaks;
}
