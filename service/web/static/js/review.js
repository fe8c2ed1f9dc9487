/* The reviewer's queue: one case at a time with its evidence, decided with the keyboard.
   A approves, R rejects (reason, Enter confirms), J/K move; after a decision the next case opens
   at once, so a reviewer can work through a queue without touching the mouse. */
(function () {
  'use strict';
  var queue = [];        // case summaries in the order shown
  var index = -1;        // position of the open case
  var current = null;    // full record of the open case
  var selected = {};     // id -> true for export
  var cameraCache = {};
  var busy = false;

  function caseId(c) { return c.id !== undefined ? c.id : c.case_id; }
  function evidenceUrl(c, kind) {
    var ev = c.evidence || c.evidence_urls || {};
    return ev[kind] || ev[kind + '_url'] || '/api/cases/' + encodeURIComponent(caseId(c)) + '/evidence/' + kind;
  }
  function filters() {
    var q = new URLSearchParams();
    ['f-state', 'f-rule', 'f-camera', 'f-from', 'f-to'].forEach(function (id) {
      var node = CW.$(id);
      if (node.value) q.set(node.name, node.value);
    });
    return q;
  }
  function when(c) { return c.start_time || c.created_at; }
  function camOf(c) { return c.camera_id || c.camera || ''; }
  function tz(c) { return c.timezone || (cameraZones[camOf(c)]) || 'Asia/Shanghai'; }
  var cameraZones = {};

  function renderQueue() {
    var list = CW.$('queue-list');
    list.innerHTML = '';
    CW.$('queue-count').textContent = CW.t('review.queue_count', {n: queue.length});
    if (!queue.length) list.appendChild(CW.el('li', {class: 'empty', text: CW.t('review.queue_empty')}));
    queue.forEach(function (c, i) {
      var id = caseId(c);
      var box = CW.el('input', {type: 'checkbox', class: 'pick', 'aria-label': CW.t('review.select'), checked: selected[id] ? true : null});
      box.addEventListener('click', function (ev) { ev.stopPropagation(); });
      box.addEventListener('change', function () { if (box.checked) selected[id] = true; else delete selected[id]; updateExport(); });
      var item = CW.el('li', {class: 'queue-item' + (i === index ? ' active' : ''), 'data-case': String(id), tabindex: '-1'}, [
        box,
        CW.el('div', {class: 'qi-main'}, [
          CW.el('div', {class: 'qi-top'}, [CW.el('span', {class: 'rule-dot rule-' + c.rule}), CW.el('span', {class: 'qi-rule', text: CW.label('rule', c.rule)})]),
          CW.el('div', {class: 'qi-sub muted small', text: CW.formatTime(when(c), tz(c)) + ' · ' + camOf(c)}),
          CW.el('div', {class: 'qi-id mono', title: String(id), text: '#' + id})
        ]),
        CW.el('span', {class: 'state-badge state-' + c.state, text: CW.label('state', c.state)})
      ]);
      item.addEventListener('click', function () { open(i); });
      list.appendChild(item);
    });
    updateExport();
  }

  function updateExport() {
    var n = Object.keys(selected).length;
    var btn = CW.$('export-selected');
    btn.disabled = n === 0;
    btn.textContent = n ? CW.t('review.export_n', {n: n}) : CW.t('review.export');
  }

  /* Filters can change while an earlier list is still on its way: only the latest request's
     answer may fill the queue. */
  var queueSeq = 0;
  function loadQueue(keepId) {
    var seq = ++queueSeq;
    return CW.api('GET', '/api/cases?' + filters().toString()).then(function (data) {
      if (seq !== queueSeq) return;
      queue = CW.items(data, 'cases');
      var at = 0;
      if (keepId !== undefined) queue.forEach(function (c, i) { if (caseId(c) === keepId) at = i; });
      index = -1;
      renderQueue();
      if (queue.length) open(at); else showEmpty();
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  function showEmpty() {
    current = null;
    CW.$('case').hidden = true;
    CW.$('case-empty').hidden = false;
    CWPlayer.close();
    CWSheet.show(null);
    var v = CW.$('c-video'); v.removeAttribute('src'); v.load();
  }

  function camera(id) {
    if (!cameraCache[id]) cameraCache[id] = CW.api('GET', '/api/cameras/' + encodeURIComponent(id)).catch(function () { return null; });
    return cameraCache[id];
  }

  function offenderBox(c) {
    if (c.key_box) return c.key_box;
    var track = c.offender_track || [];
    if (!track.length) return null;
    var t = c.key_frame && c.key_frame.t !== undefined ? c.key_frame.t : c.start_s;
    var best = track[0];
    track.forEach(function (p) { if (t !== undefined && Math.abs(p.t - t) < Math.abs(best.t - t)) best = p; });
    return best.box;
  }

  function fill(c) {
    current = c;
    CW.$('case-empty').hidden = true;
    CW.$('case').hidden = false;
    var id = caseId(c);
    CW.$('case').setAttribute('data-case', String(id));
    CW.$('case').setAttribute('data-state', c.state);
    CW.$('c-rule').textContent = CW.label('rule', c.rule);
    CW.$('c-rule').className = 'rule-badge rule-' + c.rule;
    CW.$('c-title').textContent = c.title || CW.label('rule', c.rule);
    CW.$('c-id').textContent = CW.t('review.case_no', {id: id});
    CW.$('c-camera').textContent = camOf(c);
    var time = CW.$('c-time');
    time.textContent = CW.formatTime(when(c), tz(c), true);
    if (when(c)) time.setAttribute('datetime', when(c));
    CW.$('c-state').textContent = CW.label('state', c.state);
    CW.$('c-state').className = 'state-badge state-' + c.state;
    var integ = c.integrity || {};
    var ok = integ.ok !== false;
    var badge = CW.$('c-integrity');
    badge.textContent = ok ? CW.t('review.integrity.ok') : CW.t('review.integrity.bad');
    badge.className = 'integrity ' + (ok ? 'ok' : 'bad');
    var problems = CW.$('c-problems');
    problems.innerHTML = '';
    (integ.problems || []).forEach(function (p) { problems.appendChild(CW.el('li', {text: p})); });
    CW.$('c-problems-panel').hidden = ok && !(integ.problems || []).length;
    CW.$('c-explanation').textContent = CW.explanation(c) || '—';
    CW.$('c-zone').textContent = c.zone || '—';
    CW.$('c-place').textContent = c.place || '—';
    CW.$('c-vtime').textContent = c.start_s !== undefined && c.start_s !== null ? CW.formatSeconds(c.start_s) + (c.end_s !== undefined && c.end_s !== null ? ' – ' + CW.formatSeconds(c.end_s) : '') : '—';
    CW.$('c-conf').textContent = c.confidence !== undefined && c.confidence !== null ? (c.confidence * 100).toFixed(0) + '%' : '—';
    CW.$('c-reason-panel').hidden = !c.reason;
    CW.$('c-reason').textContent = c.reason || '';
    /* the original clip with the overlay drawn from tracks.json (case_player.js) */
    CWPlayer.open(c, {clip: evidenceUrl(c, 'clip'), annotated: evidenceUrl(c, 'annotated'),
                      tracks: evidenceUrl(c, 'tracks'), render: c.annotated_render || null});
    CW.$('c-snapshot').src = evidenceUrl(c, 'snapshot');
    CW.$('c-crop').src = evidenceUrl(c, 'crop');
    CWSheet.show(c);  /* sheet_viewer.js: nothing for a case without a sheet */
    CWPlate.show(c, function (res) { if (current && caseId(current) === id) current.plate = res.plate; });  /* plate.js */
    var pending = c.state === 'pending';
    CW.$('btn-approve').hidden = !pending;
    CW.$('btn-reject').hidden = !pending;
    CW.$('btn-publish').hidden = c.state !== 'approved';
    CW.$('btn-publish').disabled = !ok;
    CW.$('btn-publish').title = ok ? '' : CW.t('review.integrity.blocks');
    CW.$('btn-withdraw').hidden = c.state !== 'published';
    CW.$('btn-prev').disabled = index <= 0;
    CW.$('btn-next').disabled = index >= queue.length - 1;
    var map = CW.$('c-map');
    map.innerHTML = '';
    camera(camOf(c)).then(function (cam) {
      if (!cam || !current || caseId(current) !== id) return;
      var scene = cam.scene || cam;
      CWZones.draw(map, scene, {reference: cam.has_reference === false ? null : '/api/cameras/' + encodeURIComponent(camOf(c)) + '/reference', highlight: c.zone, box: offenderBox(c), path: c.path});
    });
  }

  function open(i) {
    if (i < 0 || i >= queue.length) return;
    index = i;
    Array.prototype.forEach.call(document.querySelectorAll('.queue-item'), function (n, k) {
      n.classList.toggle('active', k === i);
      if (k === i) n.scrollIntoView({block: 'nearest'});
    });
    var id = caseId(queue[i]);
    CW.api('GET', '/api/cases/' + encodeURIComponent(id)).then(function (full) {
      /* Still the case on show? (the queue may have been reloaded meanwhile, same index) */
      if (index === i && queue[i] && caseId(queue[i]) === id) fill(full);
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  /* After a decision the case leaves a queue filtered on another state; open the one after it. */
  function decided(updated, messageKey) {
    var id = caseId(current);
    current = null;  /* no key acts on the decided case while the next one loads */
    CW.toast(CW.t(messageKey, {id: id}), 'ok');
    var stateFilter = CW.$('f-state').value;
    var newState = (updated && updated.state) || null;
    if (stateFilter && newState && newState !== stateFilter) {
      queue.splice(index, 1);
      delete selected[id];
      var next = Math.min(index, queue.length - 1);
      index = -1;
      renderQueue();
      if (next >= 0) open(next); else showEmpty();
    } else {
      if (updated) queue[index] = Object.assign(queue[index], {state: newState});
      renderQueue();
      if (index < queue.length - 1) open(index + 1); else open(index);
    }
  }

  function act(path, body, messageKey) {
    if (!current || busy) return;
    busy = true;
    var id = caseId(current);
    CW.api('POST', '/api/cases/' + encodeURIComponent(id) + '/' + path, body || {}).then(function (res) {
      busy = false;
      decided(res && res.state ? res : {state: {approve: 'approved', reject: 'rejected', publish: 'published', withdraw: 'withdrawn'}[path]}, messageKey);
    }).catch(function (err) { busy = false; CW.toast(err.message, 'error'); });
  }

  function approve() { if (current && current.state === 'pending') act('approve', {}, 'review.approved'); }

  function openReject() {
    if (!current || current.state !== 'pending') return;
    var dlg = CW.$('reject-dialog');
    CW.$('reject-note').value = '';
    CW.$('reject-reason').selectedIndex = 0;
    dlg.showModal();
    CW.$('reject-reason').focus();
  }
  function confirmReject() {
    var sel = CW.$('reject-reason');
    var label = sel.options[sel.selectedIndex].text, note = CW.$('reject-note').value.trim();
    if (sel.value === 'other' && !note) { CW.$('reject-note').focus(); CW.toast(CW.t('review.reject.need_note'), 'error'); return; }
    CW.$('reject-dialog').close();
    act('reject', {reason: note ? label + ': ' + note : label}, 'review.rejected');
  }

  function move(step) { if (queue.length) open(Math.max(0, Math.min(queue.length - 1, index + step))); }

  function exportSelected() {
    var ids = Object.keys(selected);
    if (!ids.length) return;
    CW.api('POST', '/api/cases/export', {ids: ids}, {raw: true}).then(function (res) {
      return res.blob().then(function (blob) {
        var a = CW.el('a', {href: URL.createObjectURL(blob), download: 'civicwatch-cases-' + ids.length + '.zip'});
        document.body.appendChild(a); a.click(); a.remove();
        CW.toast(CW.t('review.exported', {n: ids.length}), 'ok');
      });
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  document.addEventListener('keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var dlg = CW.$('reject-dialog');
    if (dlg.open) {
      if (ev.key === 'Enter') { ev.preventDefault(); confirmReject(); }
      return;
    }
    if (CW.$('withdraw-dialog').open || CW.$('sheet-dialog').open) return;
    var tag = (ev.target.tagName || '').toLowerCase();
    if (tag === 'input' && ev.target.type !== 'checkbox' || tag === 'textarea' || tag === 'select') return;
    var key = ev.key.toLowerCase();
    if (key === 'a') { ev.preventDefault(); approve(); }
    else if (key === 'r') { ev.preventDefault(); openReject(); }
    else if (key === 'j') { ev.preventDefault(); move(1); }
    else if (key === 'k') { ev.preventDefault(); move(-1); }
  });

  CW.$('btn-approve').addEventListener('click', approve);
  CW.$('btn-reject').addEventListener('click', openReject);
  CW.$('btn-next').addEventListener('click', function () { move(1); });
  CW.$('btn-prev').addEventListener('click', function () { move(-1); });
  CW.$('btn-publish').addEventListener('click', function () { act('publish', {}, 'review.published'); });
  CW.$('btn-withdraw').addEventListener('click', function () { CW.$('withdraw-note').value = ''; CW.$('withdraw-dialog').showModal(); });
  CW.$('withdraw-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var note = CW.$('withdraw-note').value.trim();
    if (!note) return;
    CW.$('withdraw-dialog').close();
    act('withdraw', {reason: note}, 'review.withdrawn');
  });
  CW.$('withdraw-cancel').addEventListener('click', function () { CW.$('withdraw-dialog').close(); });
  CW.$('reject-form').addEventListener('submit', function (ev) { ev.preventDefault(); confirmReject(); });
  CW.$('reject-cancel').addEventListener('click', function () { CW.$('reject-dialog').close(); });
  CW.$('export-selected').addEventListener('click', exportSelected);
  CW.$('select-all').addEventListener('change', function (ev) {
    selected = {};
    if (ev.target.checked) queue.forEach(function (c) { selected[caseId(c)] = true; });
    renderQueue();
  });
  CW.$('filters').addEventListener('change', function () { selected = {}; CW.$('select-all').checked = false; loadQueue(); });

  document.addEventListener('cw:ready', function () {
    CW.api('GET', '/api/cameras').then(function (data) {
      var sel = CW.$('f-camera');
      CW.items(data, 'cameras').forEach(function (c) {
        var id = c.camera_id || c.camera || c.id;
        cameraZones[id] = c.timezone;
        sel.appendChild(CW.el('option', {value: id, text: id + (c.place ? ' · ' + c.place : '')}));
      });
    }).catch(function () {});
    loadQueue();
  });
  CW.review = {queue: function () { return queue; }, current: function () { return current; }};
})();
