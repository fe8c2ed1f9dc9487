/* Going back on a decision: after an approval or rejection the undo bar offers to take it back
   for the service's undo window (button or U); a rejected case shows "Reopen", which sends it
   back to the queue with a reason. The server refuses an undo after the window and audits both. */
(function () {
  'use strict';
  var offer = null;   /* {id, state, summary, at, until} of the decision that can be undone */
  var ticker = null;

  function windowMs() { return (Number(CW.$('undo-bar').getAttribute('data-undo-s')) || 0) * 1000; }

  function hide() {
    offer = null;
    clearInterval(ticker);
    CW.$('undo-bar').hidden = true;
  }

  function tick() {
    if (!offer) return;
    var left = Math.ceil((offer.until - Date.now()) / 1000);
    if (left <= 0) { hide(); return; }
    CW.$('undo-left').textContent = CW.t('review.undo.left', {s: left});
  }

  /* Called by review.js after a decision; `summary` and `at` put the case back where it was. */
  function offerUndo(id, state, summary, at) {
    var ms = windowMs();
    if (ms <= 0) return;
    /* a little before the server's deadline, so the button never offers what will be refused */
    offer = {id: id, state: state, summary: summary, at: at, until: Date.now() + ms - 1000};
    CW.$('undo-text').textContent = CW.t(state === 'approved' ? 'review.approved' : 'review.rejected', {id: id});
    CW.$('undo-bar').hidden = false;
    CW.$('undo-bar').setAttribute('data-case', String(id));
    clearInterval(ticker);
    ticker = setInterval(tick, 500);
    tick();
  }

  function undo() {
    if (!offer) return;
    var o = offer;
    hide();
    CW.api('POST', '/api/cases/' + encodeURIComponent(o.id) + '/undo', {}).then(function (res) {
      CW.review.applyChanges([{id: o.id, state: res.state, summary: Object.assign(o.summary || {}, res), at: o.at}]);
      CW.review.openId(o.id);
      CW.toast(CW.t('review.undone', {id: o.id}), 'ok');
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  function openReopen() {
    var c = CW.review.current();
    if (!c || c.state !== 'rejected') return;
    CW.$('reopen-note').value = '';
    CW.$('reopen-dialog').showModal();
    CW.$('reopen-note').focus();
  }

  function confirmReopen(ev) {
    ev.preventDefault();
    var c = CW.review.current();
    var note = CW.$('reopen-note').value.trim();
    if (!c || !note) { CW.$('reopen-note').focus(); return; }
    CW.$('reopen-dialog').close();
    var id = CW.review.caseId(c);
    /* the version shown: a rejection undone and made again meanwhile is not the one reopened */
    CW.api('POST', '/api/cases/' + encodeURIComponent(id) + '/reopen', {reason: note, version: c.version || null}).then(function (res) {
      CW.review.applyChanges([{id: id, state: res.state, summary: res}]);
      CW.toast(CW.t('review.reopened', {id: id}), 'ok');
    }).catch(function (err) { CW.toast(err.message, 'error'); CW.review.refreshChanged(id, err); });
  }

  CW.$('undo-btn').addEventListener('click', undo);
  CW.$('btn-reopen').addEventListener('click', openReopen);
  CW.$('reopen-form').addEventListener('submit', confirmReopen);
  CW.$('reopen-cancel').addEventListener('click', function () { CW.$('reopen-dialog').close(); });
  document.addEventListener('keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.key.toLowerCase() !== 'u' || !offer) return;
    if (document.querySelector('dialog[open]')) return;
    var tag = (ev.target.tagName || '').toLowerCase();
    if (tag === 'input' && ev.target.type !== 'checkbox' || tag === 'textarea' || tag === 'select') return;
    ev.preventDefault();
    undo();
  });

  window.CWRevisit = {offerUndo: offerUndo, undo: undo, hide: hide};
})();
