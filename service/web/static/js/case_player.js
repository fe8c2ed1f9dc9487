/* The review page's player: the case's original clip with the analysis overlay drawn on a canvas
   above it (overlay.js), a toggle for the overlay (button and the O key), and a button that has
   the service render the burnt-in annotated clip on demand. Cases analysed before track files
   existed have no tracks.json: their analysis-time annotated clip plays instead, as before.

   The canvas covers the <video> element exactly; the picture inside it is letterboxed
   (object-fit), so scene pixels are mapped to the picture's rectangle, not the element's. The
   overlay is redrawn for every presented frame (requestVideoFrameCallback where the browser has
   it), on timeupdate / seeked, and when the element changes size. */
(function () {
  'use strict';
  var STORE_KEY = 'cw_overlay';
  var video, canvas, toggle, renderBtn, link, viewBtn;
  var annotatedUrl = null;  /* the rendered annotated clip of the case on show, if any */
  var viewing = 'original'; /* which clip plays: 'original' (with the overlay) or 'annotated' */
  var current = null;   /* {id, urls, data, offset} of the case on show */
  var seq = 0;          /* answers for an earlier case are dropped */
  var visible = true;

  function $(id) { return document.getElementById(id); }

  function readVisible() {
    try { return window.localStorage.getItem(STORE_KEY) !== 'off'; } catch (e) { return true; }
  }
  function storeVisible() {
    try { window.localStorage.setItem(STORE_KEY, visible ? 'on' : 'off'); } catch (e) { /* private mode */ }
  }

  function sizeCanvas() {
    var dpr = window.devicePixelRatio || 1;
    var w = video.clientWidth, h = video.clientHeight;
    canvas.style.left = video.offsetLeft + 'px';
    canvas.style.top = video.offsetTop + 'px';
    canvas.style.width = w + 'px';
    canvas.style.height = h + 'px';
    var pw = Math.round(w * dpr), ph = Math.round(h * dpr);
    if (canvas.width !== pw || canvas.height !== ph) { canvas.width = pw; canvas.height = ph; }
    return dpr;
  }

  function redraw() {
    if (!canvas) return;
    var dpr = sizeCanvas();
    var ctx = canvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    var data = current && current.data;
    var rect = CWOverlay.pictureRect(video);
    if (!data || !visible || !rect) {
      canvas.removeAttribute('data-drawn-t');
      return;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    /* the player at clip time c shows source-video time clip_start_s + c */
    if (viewing === 'annotated') { canvas.removeAttribute('data-drawn-t'); return; }  /* drawn into the clip */
    var t = (data.clip_start_s || 0) + video.currentTime;
    var drawn = CWOverlay.draw(ctx, data, t, rect, names);
    canvas.setAttribute('data-drawn-t', t.toFixed(3));
    canvas.setAttribute('data-offender', drawn.offender ? 'yes' : 'no');
  }

  /* The overlay's words in the page language: signal states, object classes, and each zone by
     its display name (its key where the scene gives none) with its kind. */
  var names = {
    signal: function (s) { return CW.label('overlay.signal', s); },
    object: function (cls) { return CW.label('object', cls); },
    zone: function (z) {
      var labels = (current && current.zoneLabels) || {};
      return CW.localName(labels[z.name], z.name) + ' (' + CW.label('zone', z.kind) + ')';
    }
  };

  function onFrame() {
    redraw();
    video.requestVideoFrameCallback(onFrame);
  }

  function setVisible(on) {
    visible = on;
    storeVisible();
    toggle.setAttribute('aria-pressed', on ? 'true' : 'false');
    canvas.hidden = !on || viewing === 'annotated';
    canvas.setAttribute('data-visible', on ? 'yes' : 'no');
    redraw();
  }

  function showState(state) {
    canvas.setAttribute('data-overlay', state);  /* loading | ready | none | failed */
    toggle.disabled = state !== 'ready';
    toggle.title = state === 'none' ? CW.t('review.overlay.none') : CW.t('review.overlay.title');
  }

  function showAnnotated(url) {
    annotatedUrl = url || null;
    link.href = url;
    link.hidden = !url;
    renderBtn.hidden = !!url || !(current && current.urls.render);
    if (viewBtn) viewBtn.hidden = !url;
  }

  /* Swap the player between the original clip (overlay drawn live) and the burnt-in annotated
     clip at the same moment, paused or playing as it was. */
  function setView(which) {
    if (which === 'annotated' && !annotatedUrl) which = 'original';
    if (which === viewing || !current) return;
    var t = video.currentTime, paused = video.paused, rate = video.playbackRate;
    viewing = which;
    video.src = which === 'annotated' ? annotatedUrl : current.urls.clip;
    video.addEventListener('loadedmetadata', function once() {
      video.removeEventListener('loadedmetadata', once);
      video.currentTime = t;
      video.playbackRate = rate;
      if (!paused) video.play().catch(function () {});
    });
    viewBtn.setAttribute('aria-pressed', which === 'annotated' ? 'true' : 'false');
    video.setAttribute('data-view', which);
    canvas.hidden = which === 'annotated' || !visible;
    redraw();
  }

  function seekToCase() {
    if (!current || !(current.offset > 0)) return;
    /* only on load: a reviewer who already moved the playhead keeps it */
    if (video.currentTime < 0.01) video.currentTime = current.offset;
  }

  /* Show case `c` (the record of GET /api/cases/{id}); `urls` = {clip, annotated, tracks, render}. */
  function open(c, urls) {
    var my = ++seq;
    var ev = c.evidence || {};
    current = {id: c.id, urls: urls, data: null, offset: Number(c.clip_offset_s) || 0, zoneLabels: c.zone_labels || {}};
    viewing = 'original';
    if (viewBtn) viewBtn.setAttribute('aria-pressed', 'false');
    video.setAttribute('data-view', 'original');
    showAnnotated(ev.annotated && ev.tracks ? urls.annotated : null);
    renderBtn.disabled = false;
    if (ev.tracks) {
      video.src = urls.clip;
      showState('loading');
      CW.api('GET', urls.tracks).then(function (data) {
        if (my !== seq) return;
        current.data = data;
        if (!(current.offset > 0) && data && data.clip_offset_s > 0) { current.offset = data.clip_offset_s; seekToCase(); }
        showState('ready');
        redraw();
      }).catch(function (err) {
        if (my !== seq) return;
        showState('failed');
        CW.toast(err.message, 'error');
      });
    } else {
      /* an analysis from before track files: its annotated clip carries the drawing */
      video.src = ev.annotated ? urls.annotated : urls.clip;
      showState('none');
      link.hidden = true;
      renderBtn.hidden = true;
    }
    redraw();
  }

  function close() {
    seq++;
    current = null;
    redraw();
  }

  function render() {
    if (!current || !current.urls.render) return;
    var my = seq;
    renderBtn.disabled = true;
    renderBtn.setAttribute('aria-busy', 'true');
    CW.toast(CW.t('review.annotated.rendering'), 'info');
    CW.api('POST', current.urls.render, {}).then(function (res) {
      renderBtn.removeAttribute('aria-busy');
      renderBtn.disabled = false;
      if (my !== seq) return;
      showAnnotated(res.url);
      CW.toast(CW.t('review.annotated.ready'), 'ok');
    }).catch(function (err) {
      renderBtn.removeAttribute('aria-busy');
      renderBtn.disabled = false;
      CW.toast(err.message, 'error');
    });
  }

  function init() {
    video = $('c-video'); canvas = $('c-overlay'); toggle = $('btn-overlay');
    renderBtn = $('btn-annotated'); link = $('annotated-link'); viewBtn = $('btn-view-annotated');
    if (!video || !canvas) return;
    ['timeupdate', 'seeked', 'loadeddata', 'resize'].forEach(function (name) { video.addEventListener(name, redraw); });
    video.addEventListener('loadedmetadata', function () { seekToCase(); redraw(); });
    if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) video.requestVideoFrameCallback(onFrame);
    if (window.ResizeObserver) new ResizeObserver(redraw).observe(video);
    window.addEventListener('resize', redraw);
    toggle.addEventListener('click', function () { setVisible(!visible); });
    renderBtn.addEventListener('click', render);
    if (viewBtn) viewBtn.addEventListener('click', function () { setView(viewing === 'annotated' ? 'original' : 'annotated'); });
    document.addEventListener('keydown', function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.key.toLowerCase() !== 'o') return;
      if (document.querySelector('dialog[open]')) return;
      var tag = (ev.target.tagName || '').toLowerCase();
      if (tag === 'input' && ev.target.type !== 'checkbox' || tag === 'textarea' || tag === 'select') return;
      if (toggle.disabled) return;
      ev.preventDefault();
      setVisible(!visible);
    });
    showState('none');
    setVisible(readVisible());
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
  window.CWPlayer = {open: open, close: close, redraw: redraw, visible: function () { return visible; },
                     view: function () { return viewing; }, setView: setView};
})();
