/**
 * Meta's documentation examples as test data: some are JSON with comments (.jsonc), and some are a bare
 * `messaging[]` item or a bare entry rather than a whole delivery. One reader for the fixture helpers and the fuzzers.
 */

/** JSON with comments: line comments outside strings, trailing commas and ES `\u{…}` escapes removed. */
export function parseJsonc(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\' && text[i + 1] === 'u' && text[i + 2] === '{') {
        const end = text.indexOf('}', i);
        out += String.fromCodePoint(parseInt(text.slice(i + 3, end), 16));
        i = end;
        continue;
      }
      out += ch;
      if (ch === '\\') { out += text[i + 1] ?? ''; i++; } else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
      continue;
    }
    out += ch;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

/**
 * A Messenger or Instagram example as a whole delivery: a bare messaging item or a bare entry is wrapped (under
 * `pageId`, at `time`); `object` is set. The input is not changed.
 */
export function asMessagingDelivery(fixture: Record<string, any>, object: 'page' | 'instagram', entry: { pageId: string; time: number }): Record<string, any> {
  const body = fixture.sender ? { entry: [{ id: entry.pageId, time: entry.time, messaging: [fixture] }] }
    : fixture.messaging ? { entry: [fixture] }
      : fixture;
  return { ...structuredClone(body), object };
}
