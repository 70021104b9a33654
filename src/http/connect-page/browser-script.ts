/**
 * The connection page's script, served as /connect-assets/connect.js (plain ES2017, no build step, so what runs
 * in the browser is exactly this text). It loads the Facebook SDK, runs FB.login with the configuration ids
 * inside the click (so browsers let the Facebook window open), listens for Embedded Signup's session info (only
 * from https://facebook.com or its subdomains), and posts code + session info to the bridge with the CSRF state.
 * For Embedded Signup it also posts the login's authResponse.signedRequest when the SDK gives one (the bridge
 * verifies it with the app secret and keeps its user_id as who granted the token); never the bare userID.
 * Whatever fails is shown in the #error line in the bridge's plain words.
 */
export const CONNECT_SCRIPT = String.raw`(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('connect-config').textContent);
  var statusEl = document.getElementById('status');
  var errorEl = document.getElementById('error');
  var resultsEl = document.getElementById('results');

  function say(text) { statusEl.textContent = text; }
  function fail(text) { errorEl.textContent = text; say(''); }
  function clearError() { errorEl.textContent = ''; }
  function addResult(text, testId) {
    var li = document.createElement('li');
    li.textContent = text;
    li.setAttribute('data-testid', testId);
    resultsEl.appendChild(li);
  }

  // Only Facebook may speak for Facebook: https, on facebook.com or one of its subdomains (not "evilfacebook.com").
  function fromFacebook(origin) {
    try {
      var u = new URL(origin);
      return u.protocol === 'https:' && (u.hostname === 'facebook.com' || /\.facebook\.com$/.test(u.hostname));
    } catch (e) { return false; }
  }

  function post(path, body) {
    return fetch(config.base + path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-connect-state': config.state },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        if (!res.ok) throw new Error((json.error && json.error.message) || ('The bridge answered ' + res.status + '.'));
        return json;
      });
    }, function () { throw new Error('The bridge could not be reached. Check the network and try again.'); });
  }

  // Embedded Signup's session info comes as a message from facebook.com, before or after the login callback.
  var session = null;
  var sessionWaiters = [];
  window.addEventListener('message', function (event) {
    if (!fromFacebook(event.origin)) return;
    var data = event.data;
    if (typeof data === 'string') { try { data = JSON.parse(data); } catch (e) { return; } }
    if (!data || data.type !== 'WA_EMBEDDED_SIGNUP') return;
    session = data;
    sessionWaiters.splice(0).forEach(function (wake) { wake(data); });
  });
  function waitForSession(ms) {
    return new Promise(function (resolve) {
      if (session) { resolve(session); return; }
      var timer = setTimeout(function () { resolve(null); }, ms);
      sessionWaiters.push(function (s) { clearTimeout(timer); resolve(s); });
    });
  }

  function cancelText(s) {
    var d = (s && s.data) || {};
    if (d.error_message) return 'Facebook reported an error: ' + d.error_message + '. Nothing was connected.';
    if (d.current_step) return 'The Facebook window was closed at the step "' + d.current_step + '". Nothing was connected; click the button to start again.';
    return 'The Facebook window was closed before the end. Nothing was connected; click the button to start again.';
  }

  var waButton = document.getElementById('connect-whatsapp');
  var pagesButton = document.getElementById('connect-pages');

  window.fbAsyncInit = function () {
    // cookie: false: the SDK keeps no login cookie on this page; the bridge sets only its CSRF cookie.
    FB.init({ appId: config.appId, cookie: false, xfbml: false, version: config.graphVersion });
    if (waButton) waButton.disabled = false;
    if (pagesButton) pagesButton.disabled = false;
    say('');
  };
  if (config.appId && (waButton || pagesButton)) {
    say('Loading Facebook…');
    var sdk = document.createElement('script');
    sdk.src = config.sdkUrl;
    sdk.async = true;
    sdk.crossOrigin = 'anonymous';
    sdk.onerror = function () { fail('The Facebook SDK could not be loaded (blocked by the browser or an extension?). Allow connect.facebook.net and reload the page.'); };
    document.head.appendChild(sdk);
  }

  if (waButton) waButton.addEventListener('click', function () {
    clearError();
    session = null;
    var pin = document.getElementById('wa-pin').value.trim();
    if (pin && !/^[0-9]{6}$/.test(pin)) { fail('The PIN has 6 digits. Correct it, or leave it empty.'); return; }
    waButton.disabled = true;
    say('Waiting for the Facebook window…');
    FB.login(function (response) {
      var code = response && response.authResponse && response.authResponse.code;
      var signedRequest = response && response.authResponse && response.authResponse.signedRequest;
      if (!code) {
        waitForSession(1500).then(function (s) { waButton.disabled = false; fail(cancelText(s)); });
        return;
      }
      // The code lives about 30 seconds: the session info must come soon, and the post goes at once.
      waitForSession(10000).then(function (s) {
        if (!s) throw new Error('Facebook did not say which WhatsApp account and number were chosen. Click "Connect WhatsApp" again.');
        if (!/^FINISH/.test(String(s.event))) throw new Error(cancelText(s));
        var d = s.data || {};
        say('Connecting the number: Meta first, then Chatwoot…');
        var body = { code: code, event: s.event, wabaId: String(d.waba_id || '') };
        if (d.phone_number_id) body.phoneNumberId = String(d.phone_number_id);
        if (pin) body.pin = pin;
        if (typeof signedRequest === 'string' && signedRequest) body.signedRequest = signedRequest;
        return post('/whatsapp', body).then(function (r) {
          say('');
          addResult(r.message, 'whatsapp-result');
          if (r.generatedPin) addResult('The number\'s two-step verification PIN is now ' + r.generatedPin + '. Keep it: Meta asks for it when the number is registered again.', 'whatsapp-pin');
        });
      }).catch(function (e) { fail(e.message); }).then(function () { waButton.disabled = false; });
    }, {
      config_id: config.embeddedSignupConfigId,
      response_type: 'code',
      override_default_response_type: true,
      extras: { setup: {}, sessionInfoVersion: '3' }
    });
  });

  var grant = null;
  var form = document.getElementById('page-choice');

  if (pagesButton) pagesButton.addEventListener('click', function () {
    clearError();
    pagesButton.disabled = true;
    say('Waiting for the Facebook window…');
    FB.login(function (response) {
      var code = response && response.authResponse && response.authResponse.code;
      if (!code) { pagesButton.disabled = false; fail(cancelText(null)); return; }
      say('Reading your Pages…');
      post('/pages/authorize', { code: code }).then(function (r) {
        grant = r.grant;
        showPages(r.pages);
        say('Choose what to connect.');
      }).catch(function (e) { fail(e.message); }).then(function () { pagesButton.disabled = false; });
    }, { config_id: config.pagesConfigId, response_type: 'code', override_default_response_type: true });
  });

  function checkbox(pageId, channel, label) {
    var l = document.createElement('label');
    var i = document.createElement('input');
    i.type = 'checkbox';
    i.checked = true;
    i.setAttribute('data-page', pageId);
    i.setAttribute('data-channel', channel);
    l.appendChild(i);
    l.appendChild(document.createTextNode(' ' + label));
    return l;
  }

  function showPages(pages) {
    var list = document.getElementById('page-list');
    list.textContent = '';
    pages.forEach(function (p) {
      var row = document.createElement('div');
      row.className = 'page';
      var name = document.createElement('strong');
      name.textContent = p.name;
      row.appendChild(name);
      row.appendChild(checkbox(p.id, 'messenger', 'Messenger'));
      if (p.instagram) row.appendChild(checkbox(p.id, 'instagram', 'Instagram' + (p.instagram.username ? ' @' + p.instagram.username : '')));
      list.appendChild(row);
    });
    form.hidden = false;
  }

  if (form) form.addEventListener('submit', function (event) {
    event.preventDefault();
    clearError();
    var byPage = {};
    Array.prototype.forEach.call(form.querySelectorAll('input[data-page]'), function (i) {
      var id = i.getAttribute('data-page');
      byPage[id] = byPage[id] || { pageId: id, messenger: false, instagram: false };
      if (i.checked) byPage[id][i.getAttribute('data-channel')] = true;
    });
    var chosen = Object.keys(byPage).map(function (k) { return byPage[k]; }).filter(function (c) { return c.messenger || c.instagram; });
    if (!chosen.length) { fail('Select at least one Page or Instagram account.'); return; }
    var submit = document.getElementById('connect-selected');
    submit.disabled = true;
    say('Connecting…');
    post('/pages/connect', { grant: grant, pages: chosen }).then(function (r) {
      say('');
      r.results.forEach(function (x) { addResult(x.message, x.error ? 'page-error' : 'page-result'); });
    }).catch(function (e) { fail(e.message); }).then(function () { submit.disabled = false; });
  });
})();
`;

export const CONNECT_STYLES = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1c1e21; }
main { max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
section { background: #fff; border: 1px solid #dadde1; border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; }
label { display: block; margin: .5rem 0 .25rem; }
input[inputmode] { font: inherit; width: 8rem; padding: .3rem .5rem; letter-spacing: .2em; }
button { font: inherit; margin-top: .75rem; padding: .5rem 1rem; border: 0; border-radius: 6px; background: #1877f2; color: #fff; cursor: pointer; }
button:disabled { background: #9db8e0; cursor: default; }
.page { padding: .4rem 0; border-bottom: 1px solid #eee; }
.page label { display: inline-block; margin: 0 0 0 1rem; }
.note { color: #65676b; }
#error { color: #b3261e; font-weight: 600; }
#results li { margin: .3rem 0; }
`;
