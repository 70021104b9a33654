/**
 * Agent markdown → the text a Meta channel shows: WhatsApp formatting (toWhatsAppText) or plain text for Messenger
 * and Instagram, which render no markup (toPlainText).
 *
 * Agent markdown → WhatsApp formatting. Chatwoot (≥ 4.12.1) sends the agent's raw markdown in webhooks
 * (chatwoot-api-notes §1.4), so the bridge renders it itself, the way Chatwoot's own WhatsApp renderer does
 * (`Messages::MarkdownRenderers::WhatsAppRenderer`): *bold*, _italic_, ~strike~, `inline code`, ```blocks```,
 * "text (url)" links, headings as bold lines, • bullets, numbered lists kept, "> " quotes.
 *
 * Inline code stays a single-backtick span, as Chatwoot's renderer does and as WhatsApp documents since its 2024
 * formatting update; a span written with three or more backticks stays ```monospace``` (the long-standing form).
 *
 * How it keeps its hands off things that only look like markdown: URLs, e-mail addresses, code spans and escaped
 * characters are lifted out into placeholders before any emphasis is read, and emphasis only opens or closes
 * at a word boundary, so snake_case_names and a*b*c stay as typed.
 */

// Private-use characters: placeholders for lifted-out text, and markers for the formatting we emit.
const LIFT_OPEN = '\uE000';
const LIFT_CLOSE = '\uE001';
const BOLD = '\uE002';
const ITALIC = '\uE003';
const STRIKE = '\uE004';
const PRIVATE_USE = /[\uE000-\uE004]/g;
const LIFTED = /\uE000(\d+)\uE001/g;

const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/;
const ALNUM = /[\p{L}\p{N}]/u;
const EMAIL_CHAR = /[A-Za-z0-9._%+-]/;
const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/;
const BARE_URL = /^(?:https?:\/\/|www\.)[^\s<]+/i;
const AUTOLINK = /^<((?:https?|ftp|mailto):[^\s<>]*|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>/i;
/** Link destination: `(url)`, `(<url>)` or `(url "title")`; one level of balanced parentheses inside the url. */
const LINK_TARGET = /^\(\s*(?:<([^<>\n]*)>|((?:[^\s()]|\([^\s()]*\))+))(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?\s*\)/;

/** The emphasis forms we read, longest first; each yields WhatsApp markers. */
const EMPHASIS: Array<{ pattern: RegExp; open: string; close: string }> = [
  { pattern: delimited('***', '*'), open: BOLD + ITALIC, close: ITALIC + BOLD },
  { pattern: delimited('___', '_'), open: BOLD + ITALIC, close: ITALIC + BOLD },
  { pattern: delimited('**', '*'), open: BOLD, close: BOLD },
  { pattern: delimited('__', '_'), open: BOLD, close: BOLD },
  { pattern: delimited('~~', '~'), open: STRIKE, close: STRIKE },
  { pattern: delimited('*', '*'), open: ITALIC, close: ITALIC },
  { pattern: delimited('_', '_'), open: ITALIC, close: ITALIC },
];

/** How emphasis is written: WhatsApp's *bold* _italic_ ~strike~, or nothing at all (plain text). */
interface Marks { bold: string; italic: string; strike: string }
const WHATSAPP_MARKS: Marks = { bold: '*', italic: '_', strike: '~' };
const PLAIN_MARKS: Marks = { bold: '', italic: '', strike: '' };

/** Renders the agent's markdown as WhatsApp text. */
export function toWhatsAppText(markdown: string): string {
  return render(markdown, WHATSAPP_MARKS);
}

/** Renders the agent's markdown as plain text (Messenger, Instagram): emphasis dropped, links as "text (url)". */
export function toPlainText(markdown: string): string {
  return render(markdown, PLAIN_MARKS);
}

function render(markdown: string, marks: Marks): string {
  const lift = new Lifter();
  const lines = markdown.replace(PRIVATE_USE, '').replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const fence = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (fence && !(fence[1]?.startsWith('`') && fence[2]?.includes('`'))) {
      const marker = fence[1] ?? '```';
      const closing = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
      const body: string[] = [];
      for (i += 1; i < lines.length && !closing.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
      out.push(lift.put('```' + body.join('\n') + '```'));
      continue;
    }
    out.push(blockLine(line, lift));
  }
  const marked = out.join('\n').replace(/^\n+/, '').trimEnd();
  return lift.restore(marked.replaceAll(BOLD, marks.bold).replaceAll(ITALIC, marks.italic).replaceAll(STRIKE, marks.strike));
}

/** True when WhatsApp could show a link preview for the text: it contains an http(s) URL. */
export function hasLink(text: string): boolean {
  return /(?:^|[^\p{L}\p{N}])https?:\/\/[^\s/?#.]/iu.test(text);
}

/** A quote marker, read where the previous one ended (sticky). */
const QUOTE_MARKER = / {0,3}>[ \t]?/y;

/**
 * One line outside a code block: quotes, headings, list items, breaks, then the inline content. Quote markers
 * are counted in one pass: reading them one nesting level at a time (recursively, re-slicing the line) overflowed
 * the stack and took seconds on a line of 200,000 ">".
 */
function blockLine(raw: string, lift: Lifter): string {
  const line = stripHardBreak(raw);
  if (line.trim() === '') return '';
  let depth = 0;
  let at = 0;
  for (;;) {
    QUOTE_MARKER.lastIndex = at;
    if (!QUOTE_MARKER.test(line)) break;
    at = QUOTE_MARKER.lastIndex;
    depth++;
  }
  if (depth === 0) return unquotedLine(line, lift);
  const rest = stripHardBreak(line.slice(at));
  const body = rest.trim() === '' ? '' : unquotedLine(rest, lift);
  return '> '.repeat(depth - 1) + (body ? `> ${body}` : '>');
}

/** A line without quote markers: headings, rules, list items, then the inline content. */
function unquotedLine(line: string, lift: Lifter): string {
  const heading = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
  if (heading) {
    const content = heading[1]?.trim() ?? '';
    return content ? BOLD + inline(content, lift).replaceAll(BOLD, '') + BOLD : '';
  }
  if (/^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/.test(line)) return line.trim();
  const bullet = /^([ \t]*)[-*+][ \t]+(.*)$/.exec(line);
  if (bullet) return `${bullet[1] ?? ''}• ${inline(bullet[2] ?? '', lift)}`;
  const numbered = /^([ \t]*)(\d{1,9})([.)])[ \t]+(.*)$/.exec(line);
  if (numbered) return `${numbered[1] ?? ''}${numbered[2] ?? ''}${numbered[3] ?? ''} ${inline(numbered[4] ?? '', lift)}`;
  return inline(line, lift);
}

/** Trailing spaces and a markdown hard-break backslash (an odd run of them) carry no meaning in WhatsApp. */
function stripHardBreak(line: string): string {
  const trimmed = line.trimEnd();
  const backslashes = /\\+$/.exec(trimmed)?.[0].length ?? 0;
  return backslashes % 2 === 1 ? trimmed.slice(0, -1).trimEnd() : trimmed;
}

/** Inline content with emphasis turned into markers; everything that must not change is lifted out. */
function inline(text: string, lift: Lifter): string {
  let marked = scan(text, lift);
  for (const { pattern, open, close } of EMPHASIS) marked = marked.replace(pattern, (_m, inner: string) => open + inner + close);
  return marked;
}

/** Links inside link text are read this deep; deeper, brackets are text (the reading recurses once per level). */
const MAX_LINK_NESTING = 8;

/**
 * Left-to-right pass over one line: escapes, code spans, autolinks, links and images, bare URLs and e-mail
 * addresses become placeholders (or link text plus a placeholder); everything else passes through.
 */
function scan(text: string, lift: Lifter, nesting = 0): string {
  const closers = text.includes('[') ? matchingBrackets(text) : undefined;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    const rest = text.slice(i);
    const prev = i > 0 ? (text[i - 1] ?? '') : '';

    if (ch === '\\' && i + 1 < text.length && ASCII_PUNCTUATION.test(text[i + 1] ?? '')) {
      // Escaped punctuation is literal. WhatsApp has no escape, so the bare character is the best we can do.
      out += lift.put(text[i + 1] ?? '');
      i += 2;
      continue;
    }
    if (ch === '`') {
      const run = /^`+/.exec(rest)?.[0] ?? '`';
      const close = findClosingRun(text, i + run.length, run.length);
      if (close < 0) {
        out += lift.put(run);
        i += run.length;
        continue;
      }
      let code = text.slice(i + run.length, close);
      if (code.length > 1 && code.startsWith(' ') && code.endsWith(' ') && code.trim() !== '') code = code.slice(1, -1);
      const fence = run.length >= 3 ? '```' : '`';
      out += lift.put(fence + code + fence);
      i = close + run.length;
      continue;
    }
    if (ch === '<') {
      const auto = AUTOLINK.exec(rest);
      if (auto) {
        out += lift.put(auto[1] ?? '');
        i += auto[0].length;
        continue;
      }
    }
    if (closers && nesting < MAX_LINK_NESTING && (ch === '[' || (ch === '!' && text[i + 1] === '[')) && prev !== '!') {
      const start = ch === '!' ? i + 1 : i;
      const link = parseLink(text, start, closers);
      if (link) {
        const label = link.text.trim();
        const sameAsUrl = label === link.url || `mailto:${label}` === link.url || label === '';
        out += sameAsUrl ? lift.put(label === '' ? link.url : label) : `${scan(label, lift, nesting + 1)} (${lift.put(link.url)})`;
        i = link.end;
        continue;
      }
    }
    if (!ALNUM.test(prev) && (ch === 'h' || ch === 'H' || ch === 'w' || ch === 'W')) {
      const url = BARE_URL.exec(rest);
      if (url) {
        const kept = trimUrl(url[0]);
        out += lift.put(unescape(kept));
        i += kept.length;
        continue;
      }
    }
    if (!EMAIL_CHAR.test(prev) && EMAIL_CHAR.test(ch)) {
      const email = EMAIL.exec(rest);
      if (email) {
        const kept = email[0].replace(/[.-]+$/, '');
        out += lift.put(kept);
        i += kept.length;
        continue;
      }
    }
    out += ch;
    i += 1;
  }
  return out;
}

/** Index of the next run of exactly `length` backticks at or after `from`, or -1. */
function findClosingRun(text: string, from: number, length: number): number {
  const runs = /`+/g;
  runs.lastIndex = from;
  for (let m = runs.exec(text); m; m = runs.exec(text)) if (m[0].length === length) return m.index;
  return -1;
}

/**
 * For each `[`, the index of its matching `]` (-1 when unmatched); backslash-escaped brackets do not count. One
 * pass for the whole line: searching afresh from every `[` took quadratic time on a long run of them.
 */
function matchingBrackets(text: string): Int32Array {
  const closers = new Int32Array(text.length).fill(-1);
  const open: number[] = [];
  for (let j = 0; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') j++;
    else if (c === '[') open.push(j);
    else if (c === ']' && open.length > 0) closers[open.pop()!] = j;
  }
  return closers;
}

/** `[text](target)` starting at `start` (the `[`), its `]` found in closers: text may hold brackets. */
function parseLink(text: string, start: number, closers: Int32Array): { text: string; url: string; end: number } | undefined {
  const close = closers[start] ?? -1;
  if (close < 0) return undefined;
  const target = LINK_TARGET.exec(text.slice(close + 1));
  const url = unescape((target?.[1] ?? target?.[2])?.trim() ?? '');
  if (!target || !url) return undefined;
  return { text: text.slice(start + 1, close), url, end: close + 1 + target[0].length };
}

/** Backslash escapes undone: the Chatwoot editor writes a typed URL's `_` as `\_`. */
function unescape(text: string): string {
  return text.replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

/** GFM's rule for bare URLs: trailing punctuation is not part of the link, nor an unbalanced closing parenthesis. */
function trimUrl(url: string): string {
  let kept = url;
  for (;;) {
    const last = kept[kept.length - 1] ?? '';
    if (/[?!.,:;*_~'"]/.test(last)) kept = kept.slice(0, -1);
    else if (last === ')' && count(kept, '(') < count(kept, ')')) kept = kept.slice(0, -1);
    else return kept;
  }
}

function count(text: string, ch: string): number {
  return text.split(ch).length - 1;
}

/**
 * An emphasis pattern: the delimiter, content that starts and ends with a non-space that is not the delimiter
 * character, and no letter or digit (or another delimiter character) right outside — so snake_case is left alone.
 */
function delimited(delimiter: string, ch: string): RegExp {
  // Only `*` needs escaping; a needless escape such as `\~` is a syntax error under the `u` flag.
  const d = delimiter.replaceAll('*', '\\*');
  const c = ch === '*' ? '\\*' : ch;
  return new RegExp(
    `(?<![\\p{L}\\p{N}${c}])${d}((?![\\s${c}])[^\\n]*?[^\\s${c}]|[^\\s${c}])${d}(?![\\p{L}\\p{N}${c}])`,
    'gu',
  );
}

/** Text taken out of the way of the emphasis rules, put back verbatim at the end. */
class Lifter {
  private readonly items: string[] = [];

  put(text: string): string {
    this.items.push(text);
    return `${LIFT_OPEN}${this.items.length - 1}${LIFT_CLOSE}`;
  }

  restore(text: string): string {
    return text.replace(LIFTED, (_m, n: string) => this.items[Number(n)] ?? '');
  }
}
