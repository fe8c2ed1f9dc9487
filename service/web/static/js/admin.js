/* Administration: people, API tokens for drones and screens, the audit log and the review statistics. */
(function () {
  'use strict';
  function tabs() {
    Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (tab) {
      tab.addEventListener('click', function () { show(tab.getAttribute('data-tab')); });
    });
  }
  function show(name) {
    /* aria-selected as well as the class: a screen reader says which tab is open by it */
    Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (t) {
      var on = t.getAttribute('data-tab') === name;
      t.classList.toggle('active', on);
      t.setAttribute('aria-selected', on ? 'true' : 'false');
    });
    Array.prototype.forEach.call(document.querySelectorAll('.tabpanel'), function (p) { p.hidden = p.id !== 'tab-' + name; });
    if (history.replaceState) history.replaceState(null, '', '#' + name);
    ({users: loadUsers, tokens: loadTokens, audit: auditRestart, stats: loadStats})[name]();
  }
  /* The installation's zone (the `timezone` setting): people and tokens belong to no camera, so
     their times are shown in it, as the audit log's are. */
  function zone() {
    var node = CW.$('audit-zone');
    return (node && node.getAttribute('data-zone')) || audit.zone || undefined;
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
          CW.el('td', {class: 'nowrap', text: CW.formatTime(u.created_at, zone())}),
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
          CW.el('td', {class: 'nowrap', text: CW.formatTime(tk.created_at, zone())}),
          CW.el('td', null, [CW.el('span', {class: 'state-badge ' + (active ? 'state-approved' : 'state-withdrawn'), text: active ? CW.t('admin.active') : CW.t('admin.token.revoked')})]),
          actions
        ]));
      });
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  /* The audit log: filters (who, action, case, local dates), pages of newest-first entries with the
     true total, and the CSV of the same filters. The first page pins the newest entry (until_id) so
     entries logged while the admin pages back (their own export, a reviewer's views) do not shift
     the pages; Filter starts again from the newest. */
  var audit = {filters: {}, limit: 50, offset: 0, untilId: null, zone: null, actorsLoaded: false};

  function auditFilters() {
    var f = {};
    [['actor', 'af-actor'], ['action', 'af-action'], ['case', 'af-case'], ['date_from', 'af-from'], ['date_to', 'af-to']].forEach(function (p) {
      var v = CW.$(p[1]).value.trim();
      if (v) f[p[0]] = v;
    });
    return f;
  }
  function auditQuery(extra) {
    var q = new URLSearchParams();
    Object.keys(audit.filters).forEach(function (k) { q.set(k, audit.filters[k]); });
    Object.keys(extra || {}).forEach(function (k) { if (extra[k] !== null && extra[k] !== undefined) q.set(k, extra[k]); });
    q.set('lang', CW.lang);
    return q.toString();
  }
  function auditTarget(e) {
    if (e.object_type === 'case' && e.object_id && e.action !== 'case.export') {
      return CW.el('a', {href: '/review?case=' + encodeURIComponent(e.object_id), class: 'mono small', text: e.object_id});
    }
    return document.createTextNode([e.object_type, e.object_id].filter(function (x) { return x !== null && x !== undefined; }).join(' ') || '—');
  }
  function loadActors() {
    if (audit.actorsLoaded) return;
    audit.actorsLoaded = true;
    CW.api('GET', '/api/users').then(function (data) {
      var list = CW.$('af-actors');
      CW.items(data, 'users').forEach(function (u) { list.appendChild(CW.el('option', {value: u.username})); });
    }).catch(function () { audit.actorsLoaded = false; });
  }
  function loadAudit() {
    loadActors();
    CW.$('audit-export').href = '/api/audit/export?' + auditQuery();
    var q = auditQuery({limit: audit.limit, offset: audit.offset, until_id: audit.untilId});
    CW.api('GET', '/api/audit?' + q).then(function (data) {
      CW.showError('audit-error', null);
      audit.untilId = data.until_id;
      audit.zone = data.timezone;
      var body = CW.$('audit-body');
      body.innerHTML = '';
      CW.items(data, 'items').forEach(function (e) {
        var detail = e.details;
        if (detail && typeof detail === 'object') detail = Object.keys(detail).length ? JSON.stringify(detail) : '';
        body.appendChild(CW.el('tr', {'data-action': e.action, 'data-id': String(e.id)}, [
          CW.el('td', {class: 'nowrap'}, [CW.el('time', {datetime: e.at_local, text: CW.formatTime(e.at, data.timezone, true)})]),
          CW.el('td', null, [document.createTextNode(e.actor || '—'), e.actor_role ? CW.el('span', {class: 'muted small', text: ' · ' + CW.label('role', e.actor_role)}) : null]),
          CW.el('td', null, [CW.el('span', {class: 'a-name', text: e.action_name || e.action}), ' ', CW.el('code', {class: 'muted small', title: CW.t('admin.audit.code'), text: e.action})]),
          CW.el('td', null, [auditTarget(e)]),
          CW.el('td', {class: 'mono small', text: e.ip || '—'}),
          CW.el('td', {class: 'small muted ellipsis', title: detail || '', text: detail || ''})
        ]));
      });
      if (!body.children.length) body.appendChild(CW.el('tr', {class: 'empty'}, [CW.el('td', {colspan: '6', text: CW.t('admin.audit.none')})]));
      var shown = body.querySelectorAll('tr[data-id]').length;
      CW.$('audit-range').textContent = data.total ? CW.t('admin.audit.range', {first: data.offset + 1, last: data.offset + shown, total: data.total}) : '';
      CW.$('audit-prev').disabled = data.offset <= 0;
      CW.$('audit-next').disabled = data.offset + shown >= data.total;
    }).catch(function (err) { CW.showError('audit-error', err); });
  }
  function auditRestart() {
    audit.filters = auditFilters();
    audit.limit = parseInt(CW.$('audit-limit').value, 10) || 50;
    audit.offset = 0;
    audit.untilId = null;
    loadAudit();
  }
  CW.$('audit-filters').addEventListener('submit', function (ev) { ev.preventDefault(); auditRestart(); });
  CW.$('audit-filters').addEventListener('reset', function () { setTimeout(auditRestart, 0); });
  CW.$('audit-prev').addEventListener('click', function () { audit.offset = Math.max(0, audit.offset - audit.limit); loadAudit(); });
  CW.$('audit-next').addEventListener('click', function () { audit.offset += audit.limit; loadAudit(); });
  CW.$('audit-limit').addEventListener('change', function () { audit.limit = parseInt(CW.$('audit-limit').value, 10) || 50; audit.offset = 0; loadAudit(); });

  /* Review statistics (GET /api/stats/cases): one row per rule, camera and/or local day, the totals
     in the table's foot; the CSV link asks for the same span and grouping. */
  function statsQuery() {
    var q = new URLSearchParams();
    [['date_from', 'sf-from'], ['date_to', 'sf-to'], ['group', 'sf-group']].forEach(function (p) {
      var v = CW.$(p[1]).value.trim();
      if (v) q.set(p[0], v);
    });
    return q.toString();
  }
  function share(value) { return value === null || value === undefined ? '—' : (value * 100).toFixed(1) + ' %'; }
  function minutes(seconds) { return seconds === null || seconds === undefined ? '—' : (seconds / 60).toFixed(1); }
  function reasons(counts) {
    return Object.keys(counts || {}).filter(function (r) { return counts[r]; }).map(function (r) {
      return CW.t('reject.' + r) + ' ' + counts[r];
    }).join(' · ') || '—';
  }
  function statsCells(row, group, head) {
    var cells = [];
    group.forEach(function (g, i) {
      var text = g === 'rule' ? CW.label('rule', row.rule) : g === 'camera' ? row.camera + (row.camera_place ? ' · ' + row.camera_place : '') : row.day;
      if (head && i === 0) text = CW.t('admin.stats.total');
      else if (head) text = '';
      cells.push(CW.el(i === 0 ? 'th' : 'td', i === 0 ? {scope: 'row', text: text || '—'} : {text: text || '—'}));
    });
    [row.cases, row.pending, row.approved, row.rejected, row.published, row.withdrawn].forEach(function (n) {
      cells.push(CW.el('td', {class: 'right', text: String(n)}));
    });
    cells.push(CW.el('td', {class: 'right', text: share(row.approval_share)}));
    cells.push(CW.el('td', {class: 'small', text: reasons(row.rejected_by_reason)}));
    cells.push(CW.el('td', {class: 'right', text: minutes(row.median_decision_s)}));
    cells.push(CW.el('td', {class: 'right', text: minutes(row.p90_decision_s)}));
    return cells;
  }
  function loadStats() {
    var q = statsQuery();
    CW.$('stats-csv').href = '/api/stats/cases?' + (q ? q + '&' : '') + 'format=csv';
    CW.api('GET', '/api/stats/cases' + (q ? '?' + q : '')).then(function (data) {
      CW.showError('stats-error', null);
      var headers = data.group.map(function (g) { return CW.t('admin.stats.col.' + g); }).concat(
        ['cases', 'pending', 'approved', 'rejected', 'published', 'withdrawn'].map(function (s) { return CW.t(s === 'cases' ? 'admin.stats.col.cases' : 'state.' + s); }),
        [CW.t('admin.stats.col.share'), CW.t('admin.stats.col.reasons'), CW.t('admin.stats.col.median'), CW.t('admin.stats.col.p90')]);
      var head = CW.$('stats-head');
      head.innerHTML = '';
      headers.forEach(function (h) { head.appendChild(CW.el('th', {scope: 'col', text: h})); });
      var body = CW.$('stats-body');
      body.innerHTML = '';
      data.rows.forEach(function (row) { body.appendChild(CW.el('tr', null, statsCells(row, data.group, false))); });
      if (!data.rows.length) body.appendChild(CW.el('tr', {class: 'empty'}, [CW.el('td', {colspan: String(headers.length), text: CW.t('admin.stats.none')})]));
      var foot = CW.$('stats-foot');
      foot.innerHTML = '';
      if (data.rows.length) foot.appendChild(CW.el('tr', null, statsCells(data.total, data.group, true)));
    }).catch(function (err) { CW.showError('stats-error', err); });
  }
  CW.$('stats-filters').addEventListener('submit', function (ev) { ev.preventDefault(); loadStats(); });

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
    function fromHash() {
      var name = (location.hash || '#users').slice(1);
      show(['users', 'tokens', 'audit', 'stats'].indexOf(name) >= 0 ? name : 'users');
    }
    fromHash();
    window.addEventListener('hashchange', fromHash);  /* a link to /admin#audit from /admin */
  });
})();
