/* What the analysis saw, drawn over the original clip: zones, boxes with track ids, the offender's
   path so far and the signal state, from the case's tracks.json (detector/evidence/casetrack.py).
   Pure drawing: given the track data, a video time and the rectangle the picture occupies on the
   canvas, it paints one frame's overlay. The colours are the ones the burnt-in annotated clip uses
   (detector/evidence/annotate.py), so both look alike. */
(function () {
  'use strict';
  var OFFENDER = '#ff00ff';  /* magenta: used for nothing else */
  var ZONE_COLORS = {crosswalk: '#ffd700', lane: '#00a0ff', no_parking: '#ff8000', no_litter: '#50c850'};
  var PALETTE = ['#00ffff', '#80ff00', '#8080ff', '#ffc880', '#c8c8c8', '#00c8ff'];
  var SIGNAL_COLORS = {red: '#e00000', green: '#00a000', unknown: '#707070'};
  var EPS = 1e-6;

  /* Index of the last entry whose t is at or before `t` (entries sorted by t), or -1. */
  function lastAtOrBefore(list, t, key) {
    var lo = 0, hi = list.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      var mt = key ? list[mid][key] : list[mid][0];
      if (mt <= t + EPS) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  /* The latest analysis instant at or before `t`, if not older than max_age_s (else null). */
  function instantAt(data, t) {
    var list = data.instants || [];
    var i = lastAtOrBefore(list, t, 't');
    if (i < 0) return null;
    var maxAge = data.max_age_s !== undefined && data.max_age_s !== null ? data.max_age_s : 0.5;
    return t - list[i].t <= maxAge + EPS ? list[i] : null;
  }

  function signalsAt(data, t) {
    var list = data.signals || [];
    var i = lastAtOrBefore(list, t, 't');
    return i < 0 ? {} : (list[i].states || {});
  }

  /* The rectangle (element px) the video picture occupies inside its element, honouring
     object-fit (contain is the default: letterboxed and centred). */
  function pictureRect(video) {
    var cw = video.clientWidth, ch = video.clientHeight, vw = video.videoWidth, vh = video.videoHeight;
    if (!cw || !ch || !vw || !vh) return null;
    var fit = (window.getComputedStyle(video).objectFit || 'contain');
    if (fit === 'fill') return {x: 0, y: 0, w: cw, h: ch};
    var s = fit === 'cover' ? Math.max(cw / vw, ch / vh) : (fit === 'none' ? 1 : Math.min(cw / vw, ch / vh));
    if (fit === 'scale-down') s = Math.min(1, Math.min(cw / vw, ch / vh));
    var w = vw * s, h = vh * s;
    return {x: (cw - w) / 2, y: (ch - h) / 2, w: w, h: h};
  }

  function label(ctx, text, x, y, bg, fg) {
    var m = ctx.measureText(text), h = 15;
    ctx.fillStyle = bg;
    ctx.fillRect(x, y - h, m.width + 6, h);
    ctx.fillStyle = fg;
    ctx.fillText(text, x + 3, y - 4);
  }

  function polyline(ctx, pts, map, close) {
    ctx.beginPath();
    pts.forEach(function (p, k) {
      var q = map(p[0], p[1]);
      if (k === 0) ctx.moveTo(q[0], q[1]); else ctx.lineTo(q[0], q[1]);
    });
    if (close) ctx.closePath();
  }

  /* The homography of the analysis instant nearest `t` (within max_age), or null (fixed camera). */
  function viewAt(data, t) {
    var views = data.views || [];
    var best = null, gap = Infinity;
    views.forEach(function (v) { var d = Math.abs(v[0] - t); if (d < gap) { gap = d; best = v; } });
    var limit = data.max_age_s || 0.5;
    return best && gap <= limit + EPS ? best.slice(1, 10) : null;
  }

  function drawZones(ctx, data, map, names) {
    (data.zones || []).forEach(function (z) {
      if (!z.polygon || z.polygon.length < 3) return;
      var color = ZONE_COLORS[z.kind] || '#ffffff';
      ctx.save();
      polyline(ctx, z.polygon, map, true);
      ctx.globalAlpha = z.offence_zone ? 0.25 : 0.08;
      ctx.fillStyle = color;
      ctx.fill();
      ctx.globalAlpha = z.offence_zone ? 1 : 0.7;
      ctx.lineWidth = z.offence_zone ? 3 : 1.5;
      if (!z.offence_zone) ctx.setLineDash([6, 4]);
      ctx.strokeStyle = color;
      ctx.stroke();
      ctx.restore();
      var top = z.polygon.reduce(function (a, b) { return b[1] < a[1] ? b : a; });
      var q = map(top[0], top[1]);
      label(ctx, names.zone ? names.zone(z) : z.name + ' (' + z.kind + ')', q[0], Math.max(16, q[1] - 2), 'rgba(0,0,0,0.55)', color);
    });
  }

  function drawPath(ctx, data, t, map) {
    var pts = (data.path || []).filter(function (p) { return p[0] <= t + EPS; }).map(function (p) { return [p[1], p[2]]; });
    if (!pts.length) return;
    ctx.save();
    ctx.strokeStyle = OFFENDER;
    ctx.fillStyle = OFFENDER;
    ctx.lineWidth = 2;
    if (pts.length > 1) { polyline(ctx, pts, map, false); ctx.stroke(); }
    var end = map(pts[pts.length - 1][0], pts[pts.length - 1][1]);
    ctx.beginPath();
    ctx.arc(end[0], end[1], 4, 0, 2 * Math.PI);
    ctx.fill();
    ctx.restore();
  }

  function drawBox(ctx, b, offender, map, names) {
    var p = map(b[2], b[3]), q = map(b[4], b[5]);
    var color = offender ? OFFENDER : PALETTE[Math.abs(b[0]) % PALETTE.length];
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = offender ? 3 : 1;
    ctx.strokeRect(p[0], p[1], q[0] - p[0], q[1] - p[1]);
    ctx.restore();
    label(ctx, '#' + b[0] + ' ' + (names.object ? names.object(b[1]) : b[1]), p[0] - (offender ? 1.5 : 0.5), p[1] - (offender ? 2 : 1),
          offender ? OFFENDER : 'rgba(0,0,0,0.55)', offender ? '#ffffff' : color);
  }

  function drawSignals(ctx, data, t, rect, names) {
    var states = signalsAt(data, t);
    var y = rect.y + 18;
    Object.keys(states).sort().forEach(function (name) {
      var state = states[name];
      label(ctx, name + ': ' + (names.signal ? names.signal(state) : state), rect.x + 4, y,
            SIGNAL_COLORS[state] || SIGNAL_COLORS.unknown, '#ffffff');
      y += 18;
    });
  }

  /* Paint the overlay for video time `t` (source seconds). `rect` is where the picture lies on the
     canvas (CSS px, the context already scaled for the device pixel ratio). Returns what was drawn,
     for the page to expose (tests, accessibility). */
  function draw(ctx, data, t, rect, names) {
    names = names || {};
    var fs = data.frame_size || [rect.w, rect.h];
    var sx = rect.w / fs[0], sy = rect.h / fs[1];
    function map(x, y) { return [rect.x + x * sx, rect.y + y * sy]; }
    var offenders = {};
    (data.offender_track_ids || []).forEach(function (id) { offenders[id] = true; });
    ctx.save();
    ctx.beginPath();
    ctx.rect(rect.x, rect.y, rect.w, rect.h);
    ctx.clip();
    ctx.font = '12px sans-serif';
    /* drone footage: the zones, drawn on the reference, warped to where they lie in this frame */
    var view = viewAt(data, t);
    var zoneMap = view ? function (x, y) {
      var w = view[6] * x + view[7] * y + view[8];
      return map((view[0] * x + view[1] * y + view[2]) / w, (view[3] * x + view[4] * y + view[5]) / w);
    } : map;
    drawZones(ctx, data, zoneMap, names);
    drawPath(ctx, data, t, map);
    var inst = instantAt(data, t);
    var boxes = inst ? inst.boxes || [] : [];
    var seen = false;
    boxes.forEach(function (b) { if (!offenders[b[0]]) drawBox(ctx, b, false, map, names); });
    boxes.forEach(function (b) { if (offenders[b[0]]) { seen = true; drawBox(ctx, b, true, map, names); } });
    var ev = data.event || {};
    if (!seen && data.key_box && ev.start_s !== undefined && t >= ev.start_s - EPS && t <= ev.end_s + EPS) {
      /* the offender is not tracked at this instant but the event holds: mark where it was seen */
      var p = map(data.key_box[0], data.key_box[1]), q = map(data.key_box[2], data.key_box[3]);
      ctx.save();
      ctx.setLineDash([5, 4]);
      ctx.strokeStyle = OFFENDER;
      ctx.lineWidth = 2;
      ctx.strokeRect(p[0], p[1], q[0] - p[0], q[1] - p[1]);
      ctx.restore();
    }
    drawSignals(ctx, data, t, rect, names);
    ctx.restore();
    return {t: t, instant: inst ? inst.t : null, boxes: boxes.length, offender: seen, zones_warped: !!view};
  }

  window.CWOverlay = {draw: draw, instantAt: instantAt, signalsAt: signalsAt, viewAt: viewAt, pictureRect: pictureRect, OFFENDER: OFFENDER};
})();
