// Polls the sandbox state and renders both sides; the forms post to the sandbox API.
(function () {
  'use strict';
  var TICKS = { sent: '✓ sent', delivered: '✓✓ delivered', read: '✓✓ read', failed: '✗ failed', progress: '…' };
  var lastConversation = null;

  function line(cls, text, meta, testId) {
    var li = document.createElement('li');
    li.className = cls;
    li.dataset.testid = testId;
    li.textContent = text;
    var small = document.createElement('span');
    small.className = 'meta';
    small.textContent = meta;
    li.appendChild(small);
    return li;
  }

  function render(state) {
    var phone = document.getElementById('phone');
    phone.replaceChildren.apply(phone, state.phone.map(function (m) {
      return line('agent', m.text, 'received from the business · phone reports: ' + m.status, 'phone-line');
    }));
    var inbox = document.getElementById('inbox');
    inbox.replaceChildren.apply(inbox, state.inbox.map(function (m) {
      if (m.direction === 'customer') lastConversation = m.conversationId;
      var meta = m.direction === 'agent' ? (TICKS[m.status] || m.status) + (m.error ? ' · ' + m.error : '') : m.direction;
      return line(m.direction, m.text, meta, m.direction + '-line');
    }));
  }

  function post(path, body) {
    return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (res) { return res.json().then(function (j) { if (!res.ok) throw new Error(j.error || ('HTTP ' + res.status)); return j; }); });
  }

  function showError(err) { document.getElementById('error').textContent = err ? String(err.message || err) : ''; }

  document.getElementById('customer-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var input = document.getElementById('customer-text');
    post('/api/customer', { text: input.value }).then(function () { input.value = ''; showError(null); }, showError);
  });
  document.getElementById('agent-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var input = document.getElementById('agent-text');
    if (lastConversation === null) return showError('No conversation yet: send a message as the customer first.');
    post('/api/reply', { text: input.value, conversationId: lastConversation }).then(function () { input.value = ''; showError(null); }, showError);
  });

  function poll() {
    fetch('/api/state').then(function (r) { return r.json(); }).then(render, showError).finally(function () { setTimeout(poll, 500); });
  }
  poll();
})();
