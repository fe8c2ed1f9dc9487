/* Administration: people, API tokens for drones and screens, and the audit log. */
(function () {
  'use strict';
  function tabs() {
    Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (tab) {
      tab.addEventListener('click', function () { show(tab.getAttribute('data-tab')); });
    });
  }
  function show(name) {
    Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (t) { t.classList.toggle('active', t.getAttribute('data-tab') === name); });
    Array.prototype.forEach.call(document.querySelectorAll('.tabpanel'), function (p) { p.hidden = p.id !== 'tab-' + name; });
    if (history.replaceState) history.replaceState(null, '', '#' + name);
    ({users: loadUsers, tokens: loadTokens, audit: loadAudit})[name]();
  }
  function stateBadge(active) {
    return CW.el('span', {class: 'state-badge ' + (active ? 'state-approved' : 'state-withdrawn'), text: active ? CW.t('admin.active') : CW.t('admin.disabled')});
  }

  function loadUsers() {
    CW.api('GET', '/api/users').then(function (data) {
      var body = CW.$('users-body');
      body.innerHTML = '';
      CW.items(data, 'users').forEach(function (u) {
        var active = u.active !== false && !u.disabled;
        var actions = CW.el('td', {class: 'right'});
        if (active && (!CW.me || u.username !== CW.me.username)) {
          actions.appendChild(CW.el('button', {type: 'button', class: 'btn btn-ghost btn-sm', text: CW.t('admin.disable'), onclick: function () {
            if (!confirm(CW.t('admin.disable.confirm', {name: u.username}))) return;
            CW.api('PATCH', '/api/users/' + encodeURIComponent(u.id), {active: false}).then(loadUsers).catch(function (e) { CW.toast(e.message, 'error'); });
          }}));
        }
        body.appendChild(CW.el('tr', null, [
          CW.el('td', null, [CW.el('strong', {text: u.username})]),
          CW.el('td', null, [CW.el('span', {class: 'role-badge role-' + u.role, text: CW.label('role', u.role)})]),
          CW.el('td', null, [stateBadge(active)]),
          CW.el('td', {class: 'nowrap', text: CW.formatTime(u.created_at)}),
          actions
        ]));
      });
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  function loadTokens() {
    CW.api('GET', '/api/tokens').then(function (data) {
      var body = CW.$('tokens-body');
      body.innerHTML = '';
      CW.items(data, 'tokens').forEach(function (tk) {
        var active = !tk.revoked && !tk.revoked_at && tk.active !== false;
        var actions = CW.el('td', {class: 'right'});
        if (active) actions.appendChild(CW.el('button', {type: 'button', class: 'btn btn-ghost btn-sm', text: CW.t('admin.token.revoke'), onclick: function () {
          if (!confirm(CW.t('admin.token.revoke.confirm', {name: tk.name}))) return;
          CW.api('DELETE', '/api/tokens/' + encodeURIComponent(tk.id)).then(loadTokens).catch(function (e) { CW.toast(e.message, 'error'); });
        }}));
        body.appendChild(CW.el('tr', null, [
          CW.el('td', null, [CW.el('strong', {text: tk.name || ('#' + tk.id)})]),
          CW.el('td', null, [CW.el('span', {class: 'role-badge role-' + tk.role, text: CW.label('role', tk.role)})]),
          CW.el('td', {text: tk.screen || '—'}),
          CW.el('td', {class: 'nowrap', text: CW.formatTime(tk.created_at)}),
          CW.el('td', null, [CW.el('span', {class: 'state-badge ' + (active ? 'state-approved' : 'state-withdrawn'), text: active ? CW.t('admin.active') : CW.t('admin.token.revoked')})]),
          actions
        ]));
      });
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  function loadAudit() {
    CW.api('GET', '/api/audit?limit=200').then(function (data) {
      var body = CW.$('audit-body');
      body.innerHTML = '';
      CW.items(data, 'entries').forEach(function (e) {
        var detail = e.details;
        if (detail && typeof detail === 'object') detail = Object.keys(detail).length ? JSON.stringify(detail) : '';
        body.appendChild(CW.el('tr', null, [
          CW.el('td', {class: 'nowrap', text: CW.formatTime(e.at)}),
          CW.el('td', null, [document.createTextNode(e.actor || '—'), e.actor_role ? CW.el('span', {class: 'muted small', text: ' · ' + CW.label('role', e.actor_role)}) : null]),
          CW.el('td', null, [CW.el('code', {text: e.action || ''})]),
          CW.el('td', {text: [e.object_type, e.object_id].filter(function (x) { return x !== null && x !== undefined; }).join(' ') || '—'}),
          CW.el('td', {class: 'mono small', text: e.ip || '—'}),
          CW.el('td', {class: 'small muted ellipsis', title: detail || '', text: detail || ''})
        ]));
      });
      if (!body.children.length) body.appendChild(CW.el('tr', {class: 'empty'}, [CW.el('td', {colspan: '6', text: CW.t('admin.audit.none')})]));
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  CW.$('user-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = {username: CW.$('new-user').value.trim(), role: CW.$('new-user-role').value, password: CW.$('new-user-password').value};
    CW.api('POST', '/api/users', body).then(function () {
      CW.showError('user-error', null); ev.target.reset(); CW.toast(CW.t('admin.user.added', {name: body.username}), 'ok'); loadUsers();
    }).catch(function (err) { CW.showError('user-error', err); });
  });
  CW.$('token-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = {name: CW.$('new-token-name').value.trim(), role: CW.$('new-token-role').value};
    var screen = CW.$('new-token-screen').value.trim();
    if (screen) body.screen = screen;
    CW.api('POST', '/api/tokens', body).then(function (res) {
      CW.showError('token-error', null);
      ev.target.reset();
      var secret = res.token || res.secret;
      CW.$('token-secret-value').textContent = secret;
      var link = CW.$('token-display-link');
      if (body.role === 'display') { link.href = '/display/' + encodeURIComponent(screen || 'default');  /* the screen pairs with the token; never in a URL */ link.hidden = false; }
      else link.hidden = true;
      CW.$('token-secret').hidden = false;
      loadTokens();
    }).catch(function (err) { CW.showError('token-error', err); });
  });

  document.addEventListener('cw:ready', function () {
    tabs();
    var name = (location.hash || '#users').slice(1);
    show(['users', 'tokens', 'audit'].indexOf(name) >= 0 ? name : 'users');
  });
})();
