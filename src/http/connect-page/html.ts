/**
 * The connection page's HTML. No inline script (the Content-Security-Policy forbids it): the page's settings
 * travel in a JSON data block, which browsers never execute, and the behaviour is /connect-assets/connect.js.
 * Everything from outside (the tenant's name, the Chatwoot address) is HTML-escaped.
 */

export interface PageSettings {
  /** Where the page posts: /connect/<link token>. */
  base: string;
  /** The CSRF state, echoed in the X-Connect-State header of every POST. */
  state: string;
  appId?: string;
  graphVersion: string;
  sdkUrl: string;
  embeddedSignupConfigId?: string;
  pagesConfigId?: string;
}

export interface PageText {
  tenantName: string;
  chatwootUrl: string;
  accountId: number;
  expiresAt: Date;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON inside <script type="application/json">: `<` escaped so no string can close the element. */
function jsonBlock(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function layout(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/connect-assets/connect.css">
${head}</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export function connectPage(settings: PageSettings, text: PageText): string {
  const whatsappReady = Boolean(settings.appId && settings.embeddedSignupConfigId);
  const pagesReady = Boolean(settings.appId && settings.pagesConfigId);
  const off = (what: string, setting: string) =>
    `<p class="note" data-testid="${what}-off">Not available: this bridge has no ${setting} configured. Ask the bridge's operator to set it.</p>`;
  const body = `
<h1>Connect channels</h1>
<p>New channels of <strong>${escapeHtml(text.tenantName)}</strong> go to Chatwoot at
<strong>${escapeHtml(text.chatwootUrl)}</strong>, account ${text.accountId}: each gets its own inbox there.
This link works until ${escapeHtml(text.expiresAt.toUTCString())}.</p>

<section aria-labelledby="wa-title">
  <h2 id="wa-title">WhatsApp</h2>
  <p>Facebook opens a window where you choose (or create) the WhatsApp Business Account and the number.</p>
  ${whatsappReady ? `
  <label for="wa-pin">Two-step verification PIN of the number (6 digits; leave empty if it has none yet, and one will be set for you)</label>
  <input id="wa-pin" inputmode="numeric" autocomplete="off" pattern="[0-9]{6}" maxlength="6">
  <button id="connect-whatsapp" type="button" disabled>Connect WhatsApp</button>` : off('whatsapp', 'META_APP_ID and META_CONFIG_ID')}
</section>

<section aria-labelledby="pages-title">
  <h2 id="pages-title">Facebook Pages and Instagram</h2>
  <p>Facebook opens a window where you choose the Pages (and their Instagram accounts) to connect.</p>
  ${pagesReady ? `
  <button id="connect-pages" type="button" disabled>Connect Pages</button>
  <form id="page-choice" hidden>
    <fieldset><legend>Choose what to connect</legend><div id="page-list"></div></fieldset>
    <button id="connect-selected" type="submit">Connect the selected</button>
  </form>` : off('pages', 'META_APP_ID and META_PAGES_CONFIG_ID')}
</section>

<p id="status" role="status" aria-live="polite"></p>
<p id="error" role="alert"></p>
<ul id="results"></ul>
`;
  const head = `<script type="application/json" id="connect-config">${jsonBlock(settings)}</script>
<script src="/connect-assets/connect.js" defer></script>
`;
  return layout('Connect channels', body, head);
}

/** A page that only explains (bad or expired link, installation gone), in plain words. */
export function problemPage(title: string, text: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p id="error" role="alert">${escapeHtml(text)}</p>`);
}
