/**
 * A stand-in for the Facebook JS SDK and its login window, for the connection page in a real browser.
 *
 *  - `startFakeFacebookSdk()` serves /sdk.js on 127.0.0.1 (point FACEBOOK_SDK_URL at it). Like the real SDK it
 *    defines window.FB, calls window.fbAsyncInit once loaded, and FB.login(callback, options) opens the login
 *    window at https://www.facebook.com/<version>/dialog/oauth?… with the options in the query, and calls the
 *    callback with { authResponse: { code, userID?, signedRequest? } } (or no authResponse) when that window
 *    says so. The signedRequest is made like Meta's (HMAC-SHA256 of the payload with the app secret given to
 *    startFakeFacebookSdk; payload { algorithm, code, issued_at, user_id }), for the scenario's userId.
 *  - `loginDialogHtml(scenario)` is that window's page. The test serves it for https://www.facebook.com/**
 *    through Playwright's request routing, so it really runs on the https://www.facebook.com origin: its
 *    WA_EMBEDDED_SIGNUP message reaches the page through window.opener exactly as Meta's does, and the page's
 *    origin check and Cross-Origin-Opener-Policy are exercised for real.
 *
 * What this cannot prove: that Meta's SDK and window behave this way today (message shape and order, the code
 * arriving through the SDK's own channel, popup handling, whether a code-flow login's authResponse carries a
 * signedRequest at all: UNCONFIRMED), that the real SDK runs under the page's
 * Content-Security-Policy (it loads more than one script), or anything about Meta's side of the login. Those are
 * taken from Meta's Embedded Signup documentation (meta-api-notes §6.1) and must be checked once against Meta.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signRequest } from '../../src/channels/meta/signed-request';

export const FAKE_SDK_JS = `(function () {
  var initOptions = null;
  var pending = null;
  window.addEventListener('message', function (event) {
    if (event.origin !== 'https://www.facebook.com') return;
    var data = event.data;
    if (!data || data.fakeSdk !== 'login-result' || !pending) return;
    var callback = pending;
    pending = null;
    var authResponse = { code: data.code };
    if (data.userID) authResponse.userID = data.userID;
    if (data.signedRequest) authResponse.signedRequest = data.signedRequest;
    callback(data.code ? { status: 'connected', authResponse: authResponse } : { status: 'unknown', authResponse: null });
  });
  window.FB = {
    init: function (options) { initOptions = options; },
    login: function (callback, options) {
      if (!initOptions) throw new Error('fake FB: FB.login before FB.init');
      pending = callback;
      var query = [
        'client_id=' + encodeURIComponent(initOptions.appId),
        'config_id=' + encodeURIComponent(options.config_id || ''),
        'response_type=' + encodeURIComponent(options.response_type || ''),
        'override_default_response_type=' + encodeURIComponent(String(options.override_default_response_type)),
        'extras=' + encodeURIComponent(JSON.stringify(options.extras || null)),
        'cookie=' + encodeURIComponent(String(initOptions.cookie))
      ].join('&');
      var popup = window.open('https://www.facebook.com/' + initOptions.version + '/dialog/oauth?' + query, 'fb-login', 'width=600,height=700');
      if (!popup) { pending = null; callback({ status: 'unknown', authResponse: null }); }
    }
  };
  setTimeout(function () { if (typeof window.fbAsyncInit === 'function') window.fbAsyncInit(); }, 0);
})();
`;

export interface LoginScenario {
  /** What Embedded Signup posts to the opener (sent as a JSON string, as Meta does); none for plain Login. */
  session?: { type: 'WA_EMBEDDED_SIGNUP'; event: string; data: Record<string, unknown>; version?: string };
  /** The code the SDK hands to FB.login's callback; none when the person closed the window. */
  code?: string;
  /** Who logged in (app-scoped id): authResponse.userID, and the user_id of the signedRequest made for it. */
  userId?: string;
  /** authResponse.signedRequest as given (a tampered one, say), instead of the one made from userId. */
  signedRequest?: string;
}

/**
 * The login window's page: posts the session info, then the login result, to the opener, and closes. With an
 * app secret and a userId (and no signedRequest given), the login result carries a signedRequest signed with it.
 */
export function loginDialogHtml(scenario: LoginScenario, appSecret?: string): string {
  const signedRequest = scenario.signedRequest ?? (scenario.userId && appSecret && scenario.code
    ? signRequest({ algorithm: 'HMAC-SHA256', code: scenario.code, issued_at: Math.floor(Date.now() / 1000), user_id: scenario.userId }, appSecret)
    : undefined);
  const json = JSON.stringify({ ...scenario, signedRequest }).replace(/</g, '\\u003c');
  return `<!doctype html><html><head><title>Log in with Facebook (fake)</title></head><body>
<script>
  var scenario = ${json};
  var opener = window.opener;
  if (!opener) {
    document.body.textContent = 'fake dialog: no window.opener (the page cut it off with its Cross-Origin-Opener-Policy)';
  } else {
    if (scenario.session) opener.postMessage(JSON.stringify(scenario.session), '*');
    opener.postMessage({ fakeSdk: 'login-result', code: scenario.code || null, userID: scenario.userId || null, signedRequest: scenario.signedRequest || null }, '*');
    setTimeout(function () { window.close(); }, 50);
  }
</script></body></html>`;
}

export interface FakeFacebookSdk {
  /** URL of the fake sdk.js (for FACEBOOK_SDK_URL). */
  sdkUrl: string;
  /** loginDialogHtml with the app secret this SDK was started with (signedRequests made for scenario.userId). */
  dialogHtml(scenario: LoginScenario): string;
  close(): Promise<void>;
}

export async function startFakeFacebookSdk(opts: { appSecret?: string } = {}): Promise<FakeFacebookSdk> {
  const server = http.createServer((req, res) => {
    if (req.url === '/sdk.js') {
      res.writeHead(200, { 'content-type': 'application/javascript', 'access-control-allow-origin': '*' });
      res.end(FAKE_SDK_JS);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    sdkUrl: `http://127.0.0.1:${port}/sdk.js`,
    dialogHtml: (scenario) => loginDialogHtml(scenario, opts.appSecret),
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
