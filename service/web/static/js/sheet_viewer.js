/* The evidence sheet on the review page: a thumbnail beside the snapshot and the close-up, and a
   full-size viewer (a <dialog>, so Escape closes it and focus stays inside). The sheet is a large
   page of stills with small caption text: the viewer opens it fitted to the window, and a click,
   Z or the zoom button shows it at its own pixel size to read the captions (scroll to move).
   Cases made before sheets existed have none: then nothing is shown for it.
   The same viewer shows the snapshot and the close-up at full size (click on either). */
(function () {
  'use strict';
  var url = null;

  function setZoom(on) {
    var dlg = CW.$('sheet-dialog');
    dlg.setAttribute('data-zoom', on ? 'full' : 'fit');
    CW.$('sheet-zoom').setAttribute('aria-pressed', on ? 'true' : 'false');
  }

  function show(c) {
    var ev = (c && c.evidence) || {};
    url = ev.sheet || null;  /* only a sheet the case has: no guessed URL */
    var fig = CW.$('c-sheet-fig');
    fig.hidden = !url;
    CW.$('c-sheet-fig').parentNode.classList.toggle('has-sheet', !!url);
    var img = CW.$('c-sheet');
    if (url) img.src = url; else img.removeAttribute('src');
    if (CW.$('sheet-dialog').open) CW.$('sheet-dialog').close();
  }

  function open() {
    if (url) view(url, CW.t('review.sheet'));
  }

  /* Any still of the case (sheet, snapshot, crop) in the full-size viewer, titled. */
  function view(src, title) {
    if (!src) return;
    var full = CW.$('sheet-full');
    if (full.getAttribute('src') !== src) full.src = src;
    full.alt = title;
    CW.$('sheet-title').textContent = title;
    CW.$('sheet-dialog').setAttribute('data-src', src);
    CW.$('sheet-newtab').href = src;
    setZoom(false);
    CW.$('sheet-dialog').showModal();
    CW.$('sheet-close').focus();
  }

  function close() { CW.$('sheet-dialog').close(); }
  function toggleZoom() { setZoom(CW.$('sheet-dialog').getAttribute('data-zoom') !== 'full'); }

  CW.$('c-sheet-open').addEventListener('click', open);
  CW.$('sheet-close').addEventListener('click', close);
  CW.$('sheet-zoom').addEventListener('click', toggleZoom);
  CW.$('sheet-full').addEventListener('click', toggleZoom);
  CW.$('sheet-dialog').addEventListener('keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'z' || ev.key === 'Z') { ev.preventDefault(); toggleZoom(); }
  });
  /* a click on the backdrop (outside the dialog's box) closes it too */
  CW.$('sheet-dialog').addEventListener('click', function (ev) {
    if (ev.target === CW.$('sheet-dialog')) close();
  });

  [['c-snapshot-open', 'c-snapshot', 'review.snapshot'], ['c-crop-open', 'c-crop', 'review.crop']].forEach(function (z) {
    var btn = CW.$(z[0]);
    if (btn) btn.addEventListener('click', function () { view(CW.$(z[1]).getAttribute('src'), CW.t(z[2])); });
  });

  window.CWSheet = {show: show, open: open, close: close, view: view};
})();
