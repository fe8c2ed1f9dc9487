/* Bulk decisions from the queue: the cases ticked in the queue are approved, or rejected with one
   reason, by POST /api/cases/bulk. The server decides (and audits) each case on its own; cases it
   could not decide (decided meanwhile, evidence altered) are named in the message that follows. */
(function () {
  'use strict';

  function ids() { return CW.review.selected(); }

  function update() {
    var n = ids().length;
    CW.$('bulk-bar').hidden = n === 0;
    CW.$('bulk-count').textContent = CW.t('review.bulk.selected', {n: n});
  }

  function send(action, reason, code) {
    var chosen = ids();
    if (!chosen.length) return;
    CW.$('bulk-approve').disabled = CW.$('bulk-reject').disabled = true;
    CW.api('POST', '/api/cases/bulk', {ids: chosen, action: action, reason: reason || null, reason_code: code || null}).then(function (res) {
      var changes = [];
      var failed = [];
      res.results.forEach(function (r) {
        if (r.ok) changes.push({id: r.id, state: r.state});
        /* why, in the page language where the code is a known one (the API's words otherwise) */
        else failed.push('#' + r.id + (r.message || r.code ? ': ' + CW.errorMessage(r.status, {detail: r.message, code: r.code}) : ''));
      });
      CW.review.clearSelection();
      CW.review.applyChanges(changes);
      var key = action === 'approve' ? 'review.bulk.approved' : 'review.bulk.rejected';
      if (failed.length) CW.toast(CW.t(key, {n: res.done}) + ' ' + CW.t('review.bulk.failed', {n: res.failed}) + ' ' + failed.join('; '), 'error');
      else CW.toast(CW.t(key, {n: res.done}), 'ok');
    }).catch(function (err) { CW.toast(err.message, 'error'); }).then(function () {
      CW.$('bulk-approve').disabled = CW.$('bulk-reject').disabled = false;
      update();
    });
  }

  function openReject() {
    if (!ids().length) return;
    CW.$('bulk-reject-title').textContent = CW.t('review.bulk.reject_title', {n: ids().length});
    CW.$('bulk-reject-note').value = '';
    CW.$('bulk-reject-reason').selectedIndex = 0;
    CW.$('bulk-reject-dialog').showModal();
    CW.$('bulk-reject-reason').focus();
  }

  function confirmReject() {
    var sel = CW.$('bulk-reject-reason');
    var note = CW.$('bulk-reject-note').value.trim();
    if (sel.value === 'other' && !note) { CW.$('bulk-reject-note').focus(); CW.toast(CW.t('review.reject.need_note'), 'error'); return; }
    CW.$('bulk-reject-dialog').close();
    send('reject', note, sel.value);
  }

  document.addEventListener('cw:selection', update);
  CW.$('bulk-approve').addEventListener('click', function () { send('approve'); });
  CW.$('bulk-reject').addEventListener('click', openReject);
  CW.$('bulk-reject-form').addEventListener('submit', function (ev) { ev.preventDefault(); confirmReject(); });
  CW.$('bulk-reject-cancel').addEventListener('click', function () { CW.$('bulk-reject-dialog').close(); });
  update();
})();
