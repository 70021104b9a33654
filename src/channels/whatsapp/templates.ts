/**
 * WhatsApp template messages requested from Chatwoot, in two forms:
 *  - `additional_attributes.template_params` on the Chatwoot message (chatwoot-api-notes §7.3), the schema Chatwoot's
 *    native WhatsApp channel uses (`Whatsapp::TemplateProcessorService`, `TemplateParameterService`,
 *    `TemplateConverterService`);
 *  - a command an agent can type in the API inbox, which has no template picker:
 *
 *        /template <name> <language> [| <parameter>]…
 *
 *    e.g. `/template order_update en_US | John | 12345`. Parameters fill the body's {{1}}, {{2}}… in order.
 *    `{{first_name}}=John` fills a named parameter instead (a template uses one kind or the other).
 *    `header=<url>` sends header media (image for .jpg/.jpeg/.png, video for .mp4/.3gp, else document);
 *    `header=<text>` fills a text header's {{1}}. A literal `|` inside a value is written `\|`.
 */

export type TemplateParameter =
  | { type: 'text'; text: string; parameter_name?: string }
  | { type: 'currency'; currency: { fallback_value: string; code: string; amount_1000: number } }
  | { type: 'date_time'; date_time: { fallback_value: string } & Record<string, unknown> }
  | { type: 'image'; image: MediaSource }
  | { type: 'video'; video: MediaSource }
  | { type: 'document'; document: MediaSource & { filename?: string } }
  | { type: 'payload'; payload: string }
  | { type: 'coupon_code'; coupon_code: string };

/** A template media parameter points at a public link or an uploaded media id. */
export type MediaSource = { link: string } | { id: string };

export type TemplateComponent =
  | { type: 'header' | 'body'; parameters: TemplateParameter[] }
  /** `index` is a string in Meta's schema (TemplateComponent.index, "0"…"9"). */
  | { type: 'button'; sub_type: string; index: string; parameters: TemplateParameter[] };

export interface TemplateRequest {
  name: string;
  /** Meta language / locale code, e.g. "en" or "en_US". */
  language: string;
  components: TemplateComponent[];
}

/** A template request the bridge cannot send as written; the message says what to fix and is shown to the agent. */
export class TemplateSyntaxError extends Error {
  override name = 'TemplateSyntaxError';
}

const NAME = /^[a-z0-9_]{1,512}$/;
const LANGUAGE = /^[a-z]{2,3}(_[A-Z]{2})?$/;
const USAGE = 'Write it as: /template <name> <language> | <parameter 1> | <parameter 2> … (for example: /template order_update en_US | John | 12345)';
const MEDIA_TYPES = ['image', 'video', 'document'] as const;
type MediaType = (typeof MEDIA_TYPES)[number];

// ---- Chatwoot template_params ----

/**
 * The template in Chatwoot's `template_params`, or undefined when there is none. Accepts the enhanced form
 * (`processed_params: {header?, body?, buttons?}`) and both legacy forms Chatwoot still converts (a flat
 * `{"1": "x"}` hash or an array of values, meaning body parameters). Throws TemplateSyntaxError when a template
 * is asked for but cannot be built (bad name or language, unsupported header media).
 */
export function fromChatwootTemplateParams(p: unknown): TemplateRequest | undefined {
  const params = asRecord(p);
  if (!params || Object.keys(params).length === 0) return undefined;
  const name = typeof params.name === 'string' ? params.name.trim() : '';
  const language = typeof params.language === 'string' ? params.language.trim() : '';
  checkName(name);
  checkLanguage(language, name);
  const processed = params.processed_params;
  const format = typeof params.parameter_format === 'string' ? params.parameter_format.toUpperCase() : undefined;
  const enhanced = asRecord(processed);
  const isEnhanced = enhanced !== undefined && ['header', 'body', 'footer', 'buttons'].some((k) => k in enhanced);

  const components: TemplateComponent[] = [];
  if (isEnhanced) {
    const header = headerComponent(asRecord(enhanced.header), name);
    if (header) components.push(header);
    const body = bodyComponent(enhanced.body, format);
    if (body) components.push(body);
    // Footers have no variables in Meta's schema (header, body, button only), so `footer` is not sent.
    components.push(...buttonComponents(enhanced.buttons));
  } else {
    const body = bodyComponent(processed, format);
    if (body) components.push(body);
  }
  return { name, language, components };
}

function headerComponent(header: Record<string, unknown> | undefined, name: string): TemplateComponent | undefined {
  if (!header) return undefined;
  const parameters: TemplateParameter[] = [];
  const mediaType = typeof header.media_type === 'string' ? header.media_type.toLowerCase() : undefined;
  const url = nonBlank(header.media_url);
  const id = nonBlank(header.media_id);
  if (mediaType && (url || id)) {
    if (!(MEDIA_TYPES as readonly string[]).includes(mediaType)) {
      throw new TemplateSyntaxError(`Template "${name}": header media type "${mediaType}" is not supported; use image, video or document.`);
    }
    parameters.push(mediaParameter(mediaType as MediaType, id ? { id } : { link: url ?? '' }, nonBlank(header.media_name)));
  }
  for (const [key, value] of Object.entries(header)) {
    if (['media_url', 'media_type', 'media_name', 'media_id'].includes(key)) continue;
    const parameter = valueParameter(value);
    if (parameter) parameters.push(parameter);
  }
  return parameters.length > 0 ? { type: 'header', parameters } : undefined;
}

/**
 * Body values in key order. Numeric keys ("1", "2", …) are positional and sorted by number; any other key is a
 * named parameter (`parameter_name`), as Chatwoot does for templates whose parameter_format is NAMED. Blank values
 * are skipped, as Chatwoot does.
 */
function bodyComponent(raw: unknown, format: string | undefined): TemplateComponent | undefined {
  let entries: Array<[string, unknown]>;
  if (Array.isArray(raw)) entries = raw.map((value, i) => [String(i + 1), value]);
  else {
    const record = asRecord(raw);
    if (!record) return undefined;
    entries = Object.entries(record);
  }
  const positional = format === 'POSITIONAL' || (format !== 'NAMED' && entries.every(([key]) => /^\d+$/.test(key)));
  if (positional) entries.sort(([a], [b]) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : 0));
  const parameters = entries.flatMap(([key, value]) => {
    const parameter = valueParameter(value);
    if (!parameter) return [];
    return positional || parameter.type !== 'text' ? [parameter] : [{ type: 'text' as const, parameter_name: key, text: parameter.text }];
  });
  return parameters.length > 0 ? { type: 'body', parameters } : undefined;
}

/**
 * `buttons: [{type, parameter}]`, index = position in the list (the template's button order). Like Chatwoot,
 * a button is sent only when it is a URL button or has a parameter. Unlike Chatwoot, a quick reply's parameter
 * goes out as a `payload` parameter, which is what Meta's schema asks for (ButtonComponent: "payload for quick
 * reply or text for URL buttons").
 */
function buttonComponents(raw: unknown): TemplateComponent[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item, index) => {
    const button = asRecord(item);
    if (!button) return [];
    const subType = nonBlank(button.type) ?? 'url';
    const value = button.parameter === undefined || button.parameter === null ? '' : String(button.parameter).trim();
    if (subType !== 'url' && value === '') return [];
    const parameter: TemplateParameter =
      subType === 'copy_code' ? { type: 'coupon_code', coupon_code: value }
        : subType === 'quick_reply' ? { type: 'payload', payload: value }
          : { type: 'text', text: value };
    return [{ type: 'button' as const, sub_type: subType, index: String(index), parameters: [parameter] }];
  });
}

/** A text, currency or date_time parameter from one Chatwoot value; undefined for a blank value. */
function valueParameter(value: unknown): TemplateParameter | undefined {
  if (value === undefined || value === null) return undefined;
  const record = asRecord(value);
  if (record) {
    if (record.type === 'currency') {
      return {
        type: 'currency',
        currency: { fallback_value: String(record.fallback_value ?? ''), code: String(record.code ?? ''), amount_1000: Number(record.amount_1000) },
      };
    }
    if (record.type === 'date_time') {
      const { type: _type, ...dateTime } = record;
      return { type: 'date_time', date_time: { ...dateTime, fallback_value: String(record.fallback_value ?? '') } };
    }
    return undefined;
  }
  const text = String(value).trim();
  return text === '' ? undefined : { type: 'text', text };
}

function mediaParameter(type: MediaType, source: MediaSource, filename?: string): TemplateParameter {
  if (type === 'image') return { type, image: source };
  if (type === 'video') return { type, video: source };
  return { type, document: filename ? { ...source, filename } : source };
}

// ---- the typed command ----

/**
 * The template an agent typed as `/template …`, or undefined when the text is not a template command.
 * Throws TemplateSyntaxError (with what to fix) when it is one but malformed. Markdown escapes the Chatwoot
 * editor adds (`order\_update`) are undone first.
 */
export function fromPlainText(content: string): TemplateRequest | undefined {
  const command = /^\s*\/template(?=\s|$)/i.exec(content);
  if (!command) return undefined;
  const segments = splitOnPipes(content.slice(command[0].length));
  const head = (segments.shift() ?? '').trim();
  const words = head.split(/\s+/).filter(Boolean);
  if (words.length === 0) throw new TemplateSyntaxError(`The template command needs a template name and a language. ${USAGE}`);
  if (words.length === 1) throw new TemplateSyntaxError(`The template command needs a language after the name "${words[0]}". ${USAGE}`);
  if (words.length > 2) {
    throw new TemplateSyntaxError(
      `The template command has "${words.slice(2).join(' ')}" after the language; separate parameters with "|". ${USAGE}`,
    );
  }
  const [name = '', language = ''] = words;
  checkName(name);
  checkLanguage(language, name);

  const header: TemplateParameter[] = [];
  const positional: TemplateParameter[] = [];
  const named: TemplateParameter[] = [];
  segments.forEach((segment, i) => {
    const value = segment.trim();
    const position = i + 1;
    if (value === '') throw new TemplateSyntaxError(`Template "${name}": parameter ${position} is empty. ${USAGE}`);
    const headerValue = /^header\s*=\s*(.*)$/is.exec(value);
    if (headerValue) {
      if (header.length > 0) throw new TemplateSyntaxError(`Template "${name}": only one header= parameter is allowed.`);
      header.push(headerParameter(linkTarget((headerValue[1] ?? '').trim()), name));
      return;
    }
    const namedValue = /^\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}\s*=\s*(.*)$/is.exec(value);
    if (namedValue) {
      named.push({ type: 'text', parameter_name: namedValue[1] ?? '', text: checkText(namedValue[2]?.trim() ?? '', name, position) });
      return;
    }
    positional.push({ type: 'text', text: checkText(value, name, position) });
  });
  if (positional.length > 0 && named.length > 0) {
    throw new TemplateSyntaxError(
      `Template "${name}": mix of numbered and {{named}} parameters; a template uses one kind only — write all of them as {{name}}=value, or none.`,
    );
  }
  const components: TemplateComponent[] = [];
  if (header.length > 0) components.push({ type: 'header', parameters: header });
  const body = positional.length > 0 ? positional : named;
  if (body.length > 0) components.push({ type: 'body', parameters: body });
  return { name, language, components };
}

/** Splits on unescaped `|`, undoing markdown backslash escapes (`\|` is a literal pipe). */
function splitOnPipes(text: string): string[] {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    const next = text[i + 1] ?? '';
    if (ch === '\\' && /[!-/:-@[-`{-~]/.test(next)) {
      current += next;
      i++;
    } else if (ch === '|') {
      segments.push(current);
      current = '';
    } else current += ch;
  }
  return [...segments, current];
}

/** The URL inside `<url>` or `[text](url)`, forms the Chatwoot editor may turn a pasted link into. */
function linkTarget(value: string): string {
  return /^<(\S+)>$/.exec(value)?.[1] ?? /^\[[^\]]*\]\((\S+)\)$/.exec(value)?.[1] ?? value;
}

function headerParameter(value: string, name: string): TemplateParameter {
  if (value === '') throw new TemplateSyntaxError(`Template "${name}": header= needs a value (a text or an https:// link to the media).`);
  if (!/^https?:\/\//i.test(value)) return { type: 'text', text: checkText(value, name, 'header') };
  const path = urlPath(value);
  if (path === undefined) throw new TemplateSyntaxError(`Template "${name}": the header link "${value}" is not a valid URL.`);
  const type: MediaType = /\.(jpe?g|png)$/i.test(path) ? 'image' : /\.(mp4|3gpp?)$/i.test(path) ? 'video' : 'document';
  const last = decodeSafely(path.split('/').pop() ?? '');
  return mediaParameter(type, { link: value }, type === 'document' && last.includes('.') ? last : undefined);
}

/** Meta rejects template text parameters with new lines, tabs or more than four consecutive spaces. */
function checkText(text: string, name: string, position: number | string): string {
  if (/[\n\t]/.test(text) || / {5,}/.test(text)) {
    throw new TemplateSyntaxError(
      `Template "${name}": parameter ${position} contains a line break, a tab or more than four spaces in a row, which WhatsApp does not allow in template parameters.`,
    );
  }
  return text;
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new TemplateSyntaxError(
      `"${name}" is not a valid template name: use the name exactly as approved in WhatsApp Manager — lowercase letters, digits and _ only, at most 512 characters.`,
    );
  }
}

function checkLanguage(language: string, name: string): void {
  if (!LANGUAGE.test(language)) {
    throw new TemplateSyntaxError(
      `Template "${name}": "${language}" is not a valid language code; use the template's language as in WhatsApp Manager, e.g. en, en_US, pt_BR.`,
    );
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function nonBlank(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The path of an http(s) URL without spaces, or undefined when it is not one. */
function urlPath(value: string): string | undefined {
  if (/\s/.test(value)) return undefined;
  try {
    return new URL(value).pathname;
  } catch {
    return undefined;
  }
}

function decodeSafely(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
