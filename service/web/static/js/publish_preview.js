/* Publishing is a deliberate step: before a case goes to the street screens the reviewer sees
   exactly what the public will see (the redacted clip and still as published, the public case
   number, place, time and the offence in the words the screen uses) and picks the screens.
   Confirming sends the hashes of the media that were previewed, so media changed in between are
   refused (409) rather than published unseen. Used by review.js: CWPublish.open(case, confirm). */
(function () {
  'use strict';
  var dialog, onConfirm = null, preview = null;

  function $(id) { return document.getElementById(id); }

  function fill(pv) {
    var r = pv.record;
    $('pp-number').textContent = r.number || CW.t('review.publish.number_pending');  /* given on publishing */
    $('pp-rule').textContent = CW.label('rule', r.rule);
    $('pp-offence').textContent = CW.t('display.offence.' + r.rule);
    $('pp-place').textContent = CW.publicPlace(r);
    $('pp-time').textContent = CW.publicTime(r);
    $('pp-marker').hidden = !r.offender_marked;
    var media = $('pp-media');
    media.innerHTML = '';
    if (r.media.video) media.appendChild(CW.el('video', {src: r.media.video, controls: true, muted: true, playsinline: true, id: 'pp-video'}));
    media.appendChild(CW.el('img', {src: r.media.image, alt: CW.t('review.publish.preview'), id: 'pp-image'}));
    var screens = $('pp-screens');
    screens.innerHTML = '';
    var all = CW.el('label', {class: 'check'}, [CW.el('input', {type: 'checkbox', id: 'pp-all', checked: true}), CW.t('review.publish.all_screens')]);
    screens.appendChild(all);
    pv.screens.forEach(function (name) {
      screens.appendChild(CW.el('label', {class: 'check'}, [CW.el('input', {type: 'checkbox', 'data-screen': name, disabled: true}), name]));
    });
    $('pp-all').addEventListener('change', function () {
      screens.querySelectorAll('input[data-screen]').forEach(function (box) { box.disabled = $('pp-all').checked; });
    });
    var blocked = pv.integrity_problems.length > 0;
    $('pp-error').textContent = blocked ? CW.t('review.publish.integrity') : '';
    $('pp-error').hidden = !blocked;
    $('pp-confirm').disabled = blocked;
  }

  function open(c, confirm) {
    dialog = $('publish-dialog');
    onConfirm = confirm;
    preview = null;
    $('pp-error').hidden = true;
    $('pp-confirm').disabled = true;
    $('pp-media').innerHTML = '';
    dialog.showModal();
    CW.api('GET', '/api/public/preview/' + encodeURIComponent(c.id)).then(function (pv) {
      preview = pv;
      fill(pv);
    }).catch(function (err) {
      $('pp-error').textContent = err && err.status === 409 ? CW.t('review.publish.unavailable') : (err && err.message) || String(err);
      $('pp-error').hidden = false;
    });
  }

  function close() {
    var v = $('pp-video'); if (v) { v.pause(); v.removeAttribute('src'); v.load(); }
    if (dialog && dialog.open) dialog.close();
  }

  document.addEventListener('DOMContentLoaded', function () {
    if (!$('publish-dialog')) return;
    $('pp-cancel').addEventListener('click', close);
    $('publish-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!preview || !onConfirm) return;
      var screens = null;
      if (!$('pp-all').checked) {
        screens = [];
        $('pp-screens').querySelectorAll('input[data-screen]:checked').forEach(function (box) { screens.push(box.getAttribute('data-screen')); });
        if (!screens.length) {  /* published to no screen: numbered and public, shown nowhere (422 no_screens) */
          $('pp-error').textContent = CW.t('review.publish.no_screens');
          $('pp-error').hidden = false;
          return;
        }
      }
      var body = {media_sha256: preview.media_sha256};
      if (screens) body.screens = screens;
      var go = onConfirm;
      close();
      go(body);
    });
  });
  window.CWPublish = {open: open, close: close};
})();
