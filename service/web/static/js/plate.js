/* The plate panel of the review page: what the OCR read (text, confidence, format check, plate
   colour) beside the correction in force, and a form to correct it. A correction must say why
   (the API keeps the machine read, the new text, who and why in the audit log); a text that is
   not a Chinese plate is refused unless the reviewer ticks "allow invalid format" on purpose
   (a foreign or military plate). The panel shows only for cases the API will take a plate for. */
(function () {
  'use strict';
  var shown = null;      // the case on show
  var onSaved = null;    // review.js: called with the updated case summary
  var busy = false;

  function pct(v) { return typeof v === 'number' ? (v * 100).toFixed(0) + '%' : '—'; }
  function formatWord(ok) { return ok ? CW.t('plate.format_ok') : CW.t('plate.format_bad'); }
  function kindWord(kind) {
    if (!kind) return '—';
    return CW.has('plate.kind.' + kind) ? CW.t('plate.kind.' + kind) : kind;
  }

  function setError(text) {
    var box = CW.$('plate-error');
    box.textContent = text || '';
    box.hidden = !text;
  }

  function render(c) {
    var plate = c.plate || null;
    var read = plate && plate.read;
    var fix = plate && plate.correction;
    var panel = CW.$('c-plate-panel');
    panel.setAttribute('data-plate', plate && plate.text ? plate.text : '');
    CW.$('plate-read').textContent = read ? read.text : CW.t('plate.none_read');
    CW.$('plate-conf').textContent = read ? pct(read.confidence) : '—';
    var fmt = CW.$('plate-format');
    fmt.textContent = read ? formatWord(read.format_ok) : '—';
    fmt.className = read ? (read.format_ok ? 'plate-ok' : 'plate-bad') : '';
    CW.$('plate-kind').textContent = read ? kindWord(read.kind) : '—';
    var corr = CW.$('plate-correction');
    corr.innerHTML = '';
    if (fix) {
      corr.appendChild(CW.el('strong', {class: 'plate-text', id: 'plate-corrected', text: fix.text}));
      corr.appendChild(CW.el('span', {class: fix.format_ok ? 'plate-ok' : 'plate-bad', text: ' · ' + formatWord(fix.format_ok)}));
      corr.appendChild(CW.el('div', {class: 'muted small', text: CW.t('plate.corrected_by', {
        who: fix.reviewer || '—', when: CW.formatTime(fix.at, c.timezone || 'Asia/Shanghai'), reason: fix.reason || ''})}));
    } else {
      corr.textContent = CW.t('plate.no_correction');
    }
  }

  function show(c, saved) {
    shown = c;
    onSaved = saved || null;
    var panel = CW.$('c-plate-panel');
    var relevant = !!(c.plate || c.plate_correctable);
    panel.hidden = !relevant;
    if (!relevant) return;
    render(c);
    CW.$('plate-text').value = c.plate && c.plate.text ? c.plate.text : '';
    CW.$('plate-reason').value = '';
    CW.$('plate-allow-invalid').checked = false;
    setError('');
  }

  function submit(ev) {
    ev.preventDefault();
    if (!shown || busy) return;
    var text = CW.$('plate-text').value.trim(), reason = CW.$('plate-reason').value.trim();
    if (!text) { CW.$('plate-text').focus(); setError(CW.t('plate.need_text')); return; }
    if (!reason) { CW.$('plate-reason').focus(); setError(CW.t('plate.need_reason')); return; }
    busy = true;
    setError('');
    var id = shown.id;
    CW.api('POST', '/api/cases/' + encodeURIComponent(id) + '/plate',
           {text: text, reason: reason, allow_invalid_format: CW.$('plate-allow-invalid').checked}).then(function (res) {
      busy = false;
      if (!shown || shown.id !== id) return;
      shown = Object.assign({}, shown, {plate: res.plate});
      render(shown);
      CW.$('plate-reason').value = '';
      CW.$('plate-allow-invalid').checked = false;
      CW.toast(CW.t('plate.saved', {text: res.plate ? res.plate.text : text}), 'ok');
      if (onSaved) onSaved(res);
    }).catch(function (err) {
      busy = false;
      /* the API's own words (e.g. why the format is refused), and the way out for a real but
         unusual plate */
      var body = err.body || {};
      var message = err.message;
      if (body.code === 'plate_format') message += ' ' + CW.t('plate.format_hint');
      setError(message);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var form = CW.$('plate-form');
    if (form) form.addEventListener('submit', submit);
  });

  window.CWPlate = {show: show};
})();
