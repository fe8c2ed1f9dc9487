/* The case's history on the review page: who decided what and when (approve, reject, undo,
   reopen, publish, withdraw, plate corrections), from the audit entries the case detail carries.
   Times are in the camera's zone like every other time on the page. */
(function () {
  'use strict';

  function detail(h) {
    var d = h.details || {};
    if (h.action === 'case.reject' && d.reason_code) return CW.rejectReason(d.reason_code, d.reason);
    if (d.reason) return d.reason;
    if (d.undone) return CW.label('history.action', d.undone);
    return '';
  }

  function show(c) {
    var list = CW.$('c-history');
    if (!list) return;
    list.innerHTML = '';
    var rows = (c && c.history) || [];
    if (!rows.length) list.appendChild(CW.el('li', {class: 'muted', text: CW.t('review.history.none')}));
    rows.forEach(function (h) {
      var why = detail(h);
      list.appendChild(CW.el('li', {'data-action': h.action}, [
        CW.el('time', {datetime: h.at, class: 'muted small', text: CW.formatTime(h.at, c.timezone)}),
        ' ',
        CW.el('strong', {text: h.actor}),
        ' ',
        CW.el('span', {class: 'h-action', text: CW.label('history.action', h.action)}),
        why ? CW.el('span', {class: 'h-reason', text: ' — ' + why}) : null
      ]));
    });
  }

  window.CWHistory = {show: show};
})();
