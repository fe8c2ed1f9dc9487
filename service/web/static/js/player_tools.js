/* Frame stepping and playback speed for the review player. `,` and `.` pause the clip and move
   it one frame back or forward, using the clip's frame rate from the case record (`fps`), so a
   reviewer can check the exact frame a light turned or a foot crossed the line. The speed
   (0.25x-2x) stays as chosen from case to case. */
(function () {
  'use strict';
  var DEFAULT_FPS = 25;  /* only for records without fps (made before it was recorded) */

  function video() { return CW.$('c-video'); }
  function fps() {
    var c = CW.review && CW.review.current();
    var f = c && Number(c.fps);
    return f > 0 ? f : DEFAULT_FPS;
  }

  function step(frames) {
    var v = video();
    if (!v || !v.getAttribute('src')) return;
    v.pause();
    var t = v.currentTime + frames / fps();
    if (v.duration && isFinite(v.duration)) t = Math.min(t, v.duration);
    v.currentTime = Math.max(0, t);
  }

  function setSpeed(rate) {
    var v = video();
    v.defaultPlaybackRate = rate;  /* kept when the next case's clip loads */
    v.playbackRate = rate;
  }

  function init() {
    var v = video();
    if (!v) return;
    CW.$('btn-frame-back').addEventListener('click', function () { step(-1); });
    CW.$('btn-frame-fwd').addEventListener('click', function () { step(1); });
    var speed = CW.$('c-speed');
    speed.addEventListener('change', function () { setSpeed(Number(speed.value) || 1); });
    v.addEventListener('loadedmetadata', function () { v.playbackRate = Number(speed.value) || 1; });
    document.addEventListener('keydown', function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || (ev.key !== ',' && ev.key !== '.')) return;
      if (document.querySelector('dialog[open]')) return;
      var tag = (ev.target.tagName || '').toLowerCase();
      if (tag === 'input' && ev.target.type !== 'checkbox' || tag === 'textarea' || tag === 'select') return;
      ev.preventDefault();
      step(ev.key === ',' ? -1 : 1);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
  window.CWPlayerTools = {step: step, setSpeed: setSpeed, fps: fps};
})();
