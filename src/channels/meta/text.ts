/**
 * Splitting long text into the pieces a Meta channel accepts: WhatsApp counts UTF-16 units (4096), Messenger
 * characters (2000), Instagram UTF-8 bytes (1000). A piece ends at a paragraph break, else a line break, else a
 * space in the second half of the room; a hard cut never splits a surrogate pair.
 */

/** How a channel measures text. */
export type TextMeasure = 'utf16' | 'utf8';

/**
 * Splits text into chunks that each measure at most `max`, preferring a paragraph break, then a line break, then
 * a space in the second half of the window.
 */
export function splitText(text: string, max: number, measure: TextMeasure = 'utf16'): string[] {
  const chunks: string[] = [];
  let rest = text.trim();
  for (let fit = fitting(rest, max, measure); fit < rest.length; fit = fitting(rest, max, measure)) {
    const window = rest.slice(0, fit + 1);
    const cut = [window.lastIndexOf('\n\n'), window.lastIndexOf('\n'), window.lastIndexOf(' ')]
      .find((at) => at >= fit / 2 && at <= fit && at > 0) ?? (safeCut(rest, fit) || String.fromCodePoint(rest.codePointAt(0) ?? 32).length);
    chunks.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).replace(/^\s+/, '');
  }
  if (rest) chunks.push(rest);
  return chunks;
}

/** How many UTF-16 units of `text`, from the start, measure at most `max` (never ending inside a surrogate pair). */
function fitting(text: string, max: number, measure: TextMeasure): number {
  if (measure === 'utf16') return Math.min(text.length, max);
  let bytes = 0;
  let units = 0;
  for (const ch of text) {
    bytes += Buffer.byteLength(ch, 'utf8');
    if (bytes > max) break;
    units += ch.length;
  }
  return units;
}

/** `at`, moved back one unit if it would split a surrogate pair. */
export function safeCut(text: string, at: number): number {
  if (at <= 0 || at >= text.length) return Math.max(0, Math.min(at, text.length));
  const code = text.charCodeAt(at - 1);
  return code >= 0xd800 && code <= 0xdbff ? at - 1 : at;
}

/** At most `max` UTF-16 units, with "…" as the last one when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, safeCut(text, max - 1)).trimEnd()}…`;
}
