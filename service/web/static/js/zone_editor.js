/* The camera page's zone editor: the scene's zones, lane arrows and signal boxes drawn over the
   reference frame, edited with the mouse or the keyboard.

   One model: the editor edits the scene document as data (what the YAML box holds, read by
   CWYaml), and every change it makes is written back into the YAML box as text, so the box stays
   the advanced view of the same document and saving sends that text as before (one PATCH with
   the whole document and base_version; the server validates and names bad fields). Typing in
   the box redraws the editor once the text reads as YAML. Coordinates are the scene's
   frame_size pixels: the SVG's viewBox is the frame, so the size the page shows it at does not
   matter. Rounding to whole pixels keeps the document readable. */
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var KINDS = ['crosswalk', 'lane', 'no_parking', 'no_litter'];
  /* the one setting each kind is mostly tuned by, offered next to the drawing (the rest in YAML) */
  var MAIN_SETTING = {no_parking: 'max_stop_s', no_litter: 'min_static_s'};
  var CLICK_SLOP = 5;  /* screen px a press may move and still count as a click */

  function svg(tag, attrs) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
    });
    return node;
  }
  function num(v) { return typeof v === 'number' && isFinite(v); }
  function isPoint(p) { return Array.isArray(p) && p.length === 2 && num(p[0]) && num(p[1]); }
  function isRoi(r) { return Array.isArray(r) && r.length === 4 && r.every(num); }
  function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
  function centroid(points) {
    var x = 0, y = 0;
    points.forEach(function (p) { x += p[0]; y += p[1]; });
    return [x / points.length, y / points.length];
  }
  /* A zone's display label as the scene gives it (one text, or per language), else its key. */
  function shownName(z) {
    if (typeof z.label === 'string' && z.label) return z.label;
    return CW.localName(isObject(z.label) ? z.label : null, z.name);
  }

  function create(opts) {
    var section = opts.section, textarea = opts.textarea;
    var canvas = section.querySelector('#ze-canvas');
    var q = function (id) { return section.querySelector('#' + id); };
    var st = {
      doc: null, readError: null, sel: null, vertex: null, mode: null, drag: null, hover: null,
      errors: {zones: {}, signals: {}}, reference: null, fallbackSize: null, root: null, overlay: null, image: null
    };
    var parseTimer = null;

    /* ---- the document ---- */
    function frame() {
      var f = st.doc && st.doc.frame_size;
      if (Array.isArray(f) && f.length === 2 && f.every(function (v) { return num(v) && v > 0; })) return f;
      return st.fallbackSize || [1280, 720];
    }
    function zones() { return st.doc && Array.isArray(st.doc.zones) ? st.doc.zones : []; }
    function signals() { return st.doc && Array.isArray(st.doc.signals) ? st.doc.signals : []; }
    function zone(i) { var z = zones()[i]; return isObject(z) ? z : null; }
    function signal(i) { var s = signals()[i]; return isObject(s) ? s : null; }
    function selectedZone() { return st.sel && st.sel.type === 'zone' ? zone(st.sel.index) : null; }
    function selectedSignal() { return st.sel && st.sel.type === 'signal' ? signal(st.sel.index) : null; }
    function polygonOf(z) { return z && Array.isArray(z.polygon) ? z.polygon : null; }

    /* A list the editor adds to: the document's own, or a new one where it has none. */
    function listFor(key) {
      if (st.doc[key] === undefined || st.doc[key] === null) st.doc[key] = [];
      if (!Array.isArray(st.doc[key])) {
        status(CW.t('zone_editor.not_a_list', {field: key}), true);
        return null;
      }
      return st.doc[key];
    }

    function uniqueName(base, taken) {
      var n = 1, name = base + '_' + n;
      while (taken.indexOf(name) >= 0) { n++; name = base + '_' + n; }
      return name;
    }
    function zoneNames() { return zones().map(function (z) { return isObject(z) ? z.name : null; }); }
    function signalNames() { return signals().map(function (s) { return isObject(s) ? s.name : null; }); }

    /* Every change the editor makes ends here: the YAML box gets the document as text. */
    function commit(keepProps) {
      st.errors = {zones: {}, signals: {}};
      textarea.value = CWYaml.dump(st.doc);
      draw();
      list();
      if (!keepProps) props();
      tools();
    }

    /* The YAML box's text becomes the document (or the editor says why it cannot draw it). */
    function fromText(text) {
      clearTimeout(parseTimer);
      var doc = null, error = null;
      try {
        doc = CWYaml.load(text);
        if (!isObject(doc)) error = CW.t('zone_editor.not_a_mapping');
      } catch (err) {
        error = err.message || String(err);
      }
      st.mode = null;
      st.drag = null;
      st.doc = error ? null : doc;
      st.readError = error;
      var box = q('ze-read-error');
      box.hidden = !error;
      box.textContent = error ? CW.t('zone_editor.unreadable', {msg: error}) : '';
      if (st.sel && !(st.sel.type === 'zone' ? zone(st.sel.index) : signal(st.sel.index))) st.sel = null;
      if (st.vertex !== null && !(selectedZone() && polygonOf(selectedZone()) && st.vertex < polygonOf(selectedZone()).length)) st.vertex = null;
      if (st.root) draw(); else build();
      list();
      props();
      tools();
      newZoneForm();
      status(null);
    }

    /* ---- drawing ---- */
    function unit() {
      var box = st.root && st.root.getBoundingClientRect();
      return box && box.width ? frame()[0] / box.width : 1;
    }

    function build() {
      var size = frame(), w = size[0], h = size[1];
      canvas.innerHTML = '';
      var root = svg('svg', {viewBox: '0 0 ' + w + ' ' + h, class: 'zones-svg ze-svg', preserveAspectRatio: 'xMidYMid meet',
        'data-frame': w + 'x' + h});
      root.appendChild(svg('rect', {x: 0, y: 0, width: w, height: h, fill: '#1f2633', 'data-role': 'background'}));
      st.image = null;
      if (st.reference) {
        var img = svg('image', {x: 0, y: 0, width: w, height: h, preserveAspectRatio: 'none', 'data-role': 'background'});
        img.setAttribute('href', st.reference);
        root.appendChild(img);
        st.image = img;
      }
      var defs = svg('defs');
      var marker = svg('marker', {id: 'ze-arrow', viewBox: '0 0 10 10', refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse'});
      marker.appendChild(svg('path', {d: 'M 0 0 L 10 5 L 0 10 z', fill: '#fff'}));
      defs.appendChild(marker);
      root.appendChild(defs);
      st.overlay = svg('g', {class: 'ze-overlay'});
      root.appendChild(st.overlay);
      root.addEventListener('pointerdown', down);
      root.addEventListener('pointermove', move);
      root.addEventListener('pointerup', up);
      root.addEventListener('pointercancel', function () { st.drag = null; draw(); });
      canvas.appendChild(root);
      st.root = root;
      draw();
    }

    function draw() {
      if (!st.root) return;
      var size = frame();
      if (st.root.getAttribute('data-frame') !== size[0] + 'x' + size[1]) { build(); return; }
      /* keep keyboard focus on the same handle across the redraw */
      var active = document.activeElement, focusKey = null;
      if (active && st.root.contains(active) && active.getAttribute('data-key')) focusKey = active.getAttribute('data-key');
      var g = st.overlay, u = unit(), stroke = 2 * u, font = Math.max(12 * u, size[0] / 70);
      g.innerHTML = '';
      if (!st.doc) return;
      zones().forEach(function (z, i) {
        if (!isObject(z)) return;
        var color = CWZones.colors[z.kind] || '#a855f7';
        var selected = st.sel && st.sel.type === 'zone' && st.sel.index === i;
        var bad = !!st.errors.zones[i];
        var pts = (polygonOf(z) || []).filter(isPoint);
        var attrs = {fill: color, 'fill-opacity': selected ? 0.35 : 0.22, stroke: bad ? '#ff3b30' : color,
          'stroke-width': (selected ? 2 : 1) * stroke, 'data-role': 'zone', 'data-zone': i, class: 'ze-zone' + (bad ? ' ze-bad' : ''),
          'stroke-dasharray': bad ? 4 * u : null};
        if (pts.length >= 3) g.appendChild(svg('polygon', Object.assign({points: pts.map(String).join(' ')}, attrs)));
        else if (pts.length === 2) g.appendChild(svg('polyline', Object.assign({points: pts.map(String).join(' ')}, attrs, {fill: 'none', 'stroke-width': 3 * stroke})));
        if (isPoint((z.direction || [])[0]) && isPoint(z.direction[1])) {
          var d = z.direction;
          g.appendChild(svg('line', {x1: d[0][0], y1: d[0][1], x2: d[1][0], y2: d[1][1], stroke: '#fff', 'stroke-width': stroke * 1.5,
            'marker-end': 'url(#ze-arrow)', 'data-role': 'zone', 'data-zone': i, class: 'ze-direction'}));
        }
        if (pts.length) {
          var c = centroid(pts);
          var label = svg('text', {x: c[0], y: c[1], 'font-size': font, 'text-anchor': 'middle', 'dominant-baseline': 'middle',
            class: 'zone-label ze-label', fill: '#fff', stroke: '#000', 'stroke-width': font / 6, 'paint-order': 'stroke'});
          label.textContent = shownName(z);
          g.appendChild(label);
        }
      });
      signals().forEach(function (s, j) {
        if (!isObject(s) || !isRoi(s.roi)) return;
        var r = s.roi, selected = st.sel && st.sel.type === 'signal' && st.sel.index === j, bad = !!st.errors.signals[j];
        g.appendChild(svg('rect', {x: r[0], y: r[1], width: r[2], height: r[3], fill: '#facc15', 'fill-opacity': selected ? 0.25 : 0.08,
          stroke: bad ? '#ff3b30' : '#facc15', 'stroke-width': (selected ? 2 : 1) * stroke, 'stroke-dasharray': 3 * stroke,
          'data-role': 'signal', 'data-signal': j, class: 'ze-roi'}));
        var name = svg('text', {x: r[0], y: r[1] - 4 * u, 'font-size': font * 0.8, fill: '#facc15', stroke: '#000', 'stroke-width': font / 8,
          'paint-order': 'stroke', class: 'ze-label'});
        name.textContent = s.name || '';
        g.appendChild(name);
      });
      handles(g, u);
      preview(g, u, stroke);
      if (focusKey) {
        var again = st.root.querySelector('[data-key="' + focusKey + '"]');
        if (again) again.focus({preventScroll: true});
      }
    }

    function handle(g, attrs, u, r, label) {
      var node = svg('circle', Object.assign({r: r * u, fill: '#fff', stroke: '#111827', 'stroke-width': 1.5 * u, class: 'ze-handle'}, attrs));
      if (label) {
        node.setAttribute('tabindex', '0');
        node.setAttribute('aria-label', label);
        node.addEventListener('focus', function () { focusHandle(node); });
      }
      g.appendChild(node);
      return node;
    }

    /* The selected zone's points and edge midpoints, a lane's arrow ends, a signal box's corners. */
    function handles(g, u) {
      if (st.mode) return;
      var z = selectedZone(), i = st.sel && st.sel.index;
      if (z && polygonOf(z)) {
        var poly = polygonOf(z);
        poly.forEach(function (p, k) {
          if (!isPoint(p)) return;
          var next = poly[(k + 1) % poly.length];
          if (poly.length >= 2 && isPoint(next) && (k + 1 < poly.length || poly.length >= 3)) {
            handle(g, {cx: (p[0] + next[0]) / 2, cy: (p[1] + next[1]) / 2, fill: 'rgba(255,255,255,.35)', 'data-role': 'mid',
              'data-zone': i, 'data-index': k, class: 'ze-handle ze-mid'}, u, 4);
          }
        });
        poly.forEach(function (p, k) {
          if (!isPoint(p)) return;
          handle(g, {cx: p[0], cy: p[1], 'data-role': 'vertex', 'data-zone': i, 'data-index': k, 'data-key': 'v' + k,
            fill: st.vertex === k ? '#2563eb' : '#fff', class: 'ze-handle ze-vertex' + (st.vertex === k ? ' ze-selected' : '')}, u, 6,
          CW.t('zone_editor.vertex_label', {n: k + 1, count: poly.length, x: p[0], y: p[1]}));
        });
      }
      if (z && Array.isArray(z.direction) && isPoint(z.direction[0]) && isPoint(z.direction[1])) {
        [0, 1].forEach(function (end) {
          var p = z.direction[end];
          handle(g, {cx: p[0], cy: p[1], 'data-role': 'dir', 'data-zone': i, 'data-end': end, 'data-key': 'd' + end,
            fill: end ? '#fde68a' : '#fff', class: 'ze-handle ze-dir'}, u, 6,
          CW.t(end ? 'zone_editor.arrow_head' : 'zone_editor.arrow_tail', {x: p[0], y: p[1]}));
        });
      }
      var s = selectedSignal();
      if (s && isRoi(s.roi)) {
        corners(s.roi).forEach(function (p, k) {
          handle(g, {cx: p[0], cy: p[1], 'data-role': 'corner', 'data-signal': st.sel.index, 'data-corner': k, 'data-key': 'c' + k,
            class: 'ze-handle ze-corner'}, u, 6, CW.t('zone_editor.corner_label', {n: k + 1, x: p[0], y: p[1]}));
        });
      }
    }

    function corners(r) { return [[r[0], r[1]], [r[0] + r[2], r[1]], [r[0] + r[2], r[1] + r[3]], [r[0], r[1] + r[3]]]; }

    /* What is being drawn: the new outline so far, or the arrow / box from its first point. */
    function preview(g, u, stroke) {
      var m = st.mode;
      if (!m) return;
      if (m.type === 'polygon') {
        var pts = m.points.slice();
        if (st.hover) pts.push(st.hover);
        if (pts.length >= 2) {
          g.appendChild(svg('polyline', {points: pts.map(String).join(' '), fill: 'none', stroke: CWZones.colors[m.kind] || '#fff',
            'stroke-width': stroke * 1.5, 'stroke-dasharray': m.points.length ? null : 4 * u, class: 'ze-drawing'}));
        }
        m.points.forEach(function (p, k) {
          var first = k === 0 && m.points.length >= 3;
          handle(g, {cx: p[0], cy: p[1], 'data-role': first ? 'first' : 'drawn', class: 'ze-handle ze-drawn' + (first ? ' ze-first' : ''),
            fill: first ? '#22c55e' : '#fff'}, u, first ? 8 : 5);
        });
        return;
      }
      if (!m.start) return;
      var end = st.hover || m.start;
      if (m.type === 'direction') {
        g.appendChild(svg('line', {x1: m.start[0], y1: m.start[1], x2: end[0], y2: end[1], stroke: '#fde68a', 'stroke-width': stroke * 1.5,
          'marker-end': 'url(#ze-arrow)', class: 'ze-drawing'}));
      } else {
        var r = box(m.start, end);
        g.appendChild(svg('rect', {x: r[0], y: r[1], width: r[2], height: r[3], fill: 'none', stroke: '#facc15', 'stroke-width': stroke,
          class: 'ze-drawing'}));
      }
    }

    /* ---- pointer ---- */
    function toScene(ev) {
      var size = frame(), pt = st.root.createSVGPoint();
      pt.x = ev.clientX;
      pt.y = ev.clientY;
      var p = pt.matrixTransform(st.root.getScreenCTM().inverse());
      return [Math.round(Math.min(size[0], Math.max(0, p.x))), Math.round(Math.min(size[1], Math.max(0, p.y)))];
    }
    function box(a, b) {
      return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1])];
    }
    function attr(node, name) { return node && node.getAttribute ? node.getAttribute(name) : null; }
    function intAttr(node, name) { return Number(attr(node, name)); }

    function down(ev) {
      if (ev.button !== 0 || !st.doc) return;
      ev.preventDefault();
      canvas.focus({preventScroll: true});
      var p = toScene(ev), t = ev.target, role = attr(t, 'data-role');
      st.hover = p;
      if (st.mode) { modeDown(ev, p, role); return; }
      if (role === 'vertex') {
        select('zone', intAttr(t, 'data-zone'), intAttr(t, 'data-index'));
        st.drag = {type: 'vertex', zone: st.sel.index, index: st.vertex};
      } else if (role === 'mid') {
        var zi = intAttr(t, 'data-zone'), k = intAttr(t, 'data-index') + 1;
        polygonOf(zone(zi)).splice(k, 0, p);
        select('zone', zi, k);
        st.drag = {type: 'vertex', zone: zi, index: k};
        st.dirty = true;
      } else if (role === 'dir') {
        st.drag = {type: 'dir', zone: intAttr(t, 'data-zone'), end: intAttr(t, 'data-end')};
      } else if (role === 'corner') {
        var r = signal(intAttr(t, 'data-signal')).roi, c = intAttr(t, 'data-corner');
        st.drag = {type: 'corner', signal: intAttr(t, 'data-signal'), anchor: corners(r)[(c + 2) % 4]};
      } else if (role === 'signal') {
        select('signal', intAttr(t, 'data-signal'));
        st.drag = {type: 'roi', signal: st.sel.index, from: p, roi: signal(st.sel.index).roi.slice()};
      } else if (role === 'zone') {
        select('zone', intAttr(t, 'data-zone'));
      } else {
        select(null);
      }
      if (st.drag) {
        st.drag.moved = false;
        st.root.setPointerCapture(ev.pointerId);
      }
      if (st.dirty) { st.dirty = false; commit(); }
    }

    function move(ev) {
      if (!st.root || !st.doc) return;
      var p = toScene(ev), d = st.drag;
      st.hover = p;
      if (d) {
        var size = frame();
        if (d.type === 'vertex') polygonOf(zone(d.zone))[d.index] = p;
        else if (d.type === 'dir') zone(d.zone).direction[d.end] = p;
        else if (d.type === 'corner') {
          var r = box(d.anchor, p);
          if (r[2] >= 1 && r[3] >= 1) signal(d.signal).roi = r;
        } else if (d.type === 'roi') {
          var w = d.roi[2], h = d.roi[3];
          signal(d.signal).roi = [Math.min(size[0] - w, Math.max(0, d.roi[0] + p[0] - d.from[0])),
            Math.min(size[1] - h, Math.max(0, d.roi[1] + p[1] - d.from[1])), w, h];
        }
        d.moved = true;
        draw();
      } else if (st.mode) {
        draw();
      }
    }

    function up(ev) {
      var d = st.drag;
      if (d) {
        st.drag = null;
        if (d.moved) commit();
        return;
      }
      var m = st.mode;
      if (m && m.start && m.pressed) {
        m.pressed = false;
        var dx = ev.clientX - m.pressedAt[0], dy = ev.clientY - m.pressedAt[1];
        if (Math.sqrt(dx * dx + dy * dy) > CLICK_SLOP) finishTwoPoint(toScene(ev));
      }
    }

    function modeDown(ev, p, role) {
      var m = st.mode;
      if (m.type === 'polygon') {
        if (role === 'first') { finishPolygon(); return; }
        m.points.push(p);
        status(CW.t('zone_editor.status.polygon_points', {n: m.points.length}));
        draw();
        tools();
        return;
      }
      if (!m.start) {
        m.start = p;
        m.pressed = true;
        m.pressedAt = [ev.clientX, ev.clientY];
        st.root.setPointerCapture(ev.pointerId);
        draw();
      } else {
        finishTwoPoint(p);
      }
    }

    /* ---- modes: a new outline, a lane's arrow, a signal's box ---- */
    function startMode(mode) {
      st.mode = mode;
      st.vertex = null;
      st.hover = null;
      canvas.focus({preventScroll: true});
      status(CW.t('zone_editor.status.' + mode.type));
      draw();
      tools();
    }

    function cancel() {
      if (!st.mode) return false;
      st.mode = null;
      status(CW.t('zone_editor.status.cancelled'));
      draw();
      tools();
      return true;
    }

    function finishPolygon() {
      var m = st.mode;
      if (!m || m.type !== 'polygon') return;
      if (!m.points.length) { cancel(); return; }
      var list = listFor('zones');
      if (!list) return;
      var z = {name: m.name, kind: m.kind, polygon: m.points};
      if (m.kind === 'crosswalk') z.signal = m.signal;
      list.push(z);
      st.mode = null;
      select('zone', list.length - 1);
      commit();
      if (m.kind === 'lane') { startMode({type: 'direction', zone: list.length - 1}); return; }
      status(m.points.length < 3 ? CW.t('zone_editor.status.too_few', {n: m.points.length}) : CW.t('zone_editor.status.zone_added', {name: z.name}));
      newZoneForm();
    }

    function finishTwoPoint(end) {
      var m = st.mode;
      if (!m || !m.start || (end[0] === m.start[0] && end[1] === m.start[1])) return;
      if (m.type === 'direction') {
        var z = zone(m.zone);
        if (!z) { cancel(); return; }
        z.direction = [m.start, end];
        st.mode = null;
        commit();
        status(CW.t('zone_editor.status.direction_set'));
        return;
      }
      var r = box(m.start, end);
      if (r[2] < 1 || r[3] < 1) return;
      if (m.signal === undefined) {
        var list = listFor('signals');
        if (!list) return;
        list.push({name: m.name, roi: r});
        st.mode = null;
        select('signal', list.length - 1);
        newSignalName();
        newZoneForm();
      } else {
        var s = signal(m.signal);
        delete s.schedule;
        delete s.timeline;
        s.roi = r;
        st.mode = null;
      }
      commit();
      status(CW.t('zone_editor.status.roi_set'));
    }

    /* ---- selection and edits ---- */
    function select(type, index, vertex) {
      st.sel = type ? {type: type, index: index} : null;
      st.vertex = vertex === undefined ? null : vertex;
      draw();
      list();
      props();
      tools();
      if (st.sel && type === 'zone' && !st.mode) status(CW.t('zone_editor.status.zone_selected'));
    }

    function focusHandle(node) {
      var role = attr(node, 'data-role');
      if (role === 'vertex' && (intAttr(node, 'data-index') !== st.vertex)) {
        st.vertex = intAttr(node, 'data-index');
        draw();
        tools();
      }
    }

    function deleteVertex() {
      var z = selectedZone(), poly = polygonOf(z);
      if (!poly || st.vertex === null || st.vertex >= poly.length) return;
      poly.splice(st.vertex, 1);
      st.vertex = poly.length ? Math.min(st.vertex, poly.length - 1) : null;
      commit();
      status(CW.t('zone_editor.status.vertex_deleted', {n: poly.length}));
    }

    function deleteItem() {
      if (!st.sel) return;
      var what = st.sel.type === 'zone' ? zone(st.sel.index) : signal(st.sel.index);
      (st.sel.type === 'zone' ? zones() : signals()).splice(st.sel.index, 1);
      st.sel = null;
      st.vertex = null;
      commit();
      status(CW.t('zone_editor.status.deleted', {name: (what && what.name) || ''}));
      newZoneForm();
    }

    /* Arrow keys: the focused point (or the selected box) one pixel, ten with Shift. */
    function nudge(dx, dy) {
      var size = frame(), z = selectedZone(), s = selectedSignal(), active = document.activeElement;
      var role = active && st.root && st.root.contains(active) ? attr(active, 'data-role') : null;
      var clamp = function (p) { return [Math.min(size[0], Math.max(0, p[0] + dx)), Math.min(size[1], Math.max(0, p[1] + dy))]; };
      if (role === 'dir' && z) z.direction[intAttr(active, 'data-end')] = clamp(z.direction[intAttr(active, 'data-end')]);
      else if (role === 'corner' && s) {
        var c = intAttr(active, 'data-corner'), cs = corners(s.roi), r = box(cs[(c + 2) % 4], clamp(cs[c]));
        if (r[2] >= 1 && r[3] >= 1) s.roi = r;
      } else if (z && st.vertex !== null && isPoint(polygonOf(z)[st.vertex])) polygonOf(z)[st.vertex] = clamp(polygonOf(z)[st.vertex]);
      else if (s && isRoi(s.roi)) s.roi = [Math.min(size[0] - s.roi[2], Math.max(0, s.roi[0] + dx)), Math.min(size[1] - s.roi[3], Math.max(0, s.roi[1] + dy)), s.roi[2], s.roi[3]];
      else return false;
      commit();
      return true;
    }

    function onKey(ev) {
      var tag = ev.target && ev.target.tagName;
      var typing = tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA';
      if (ev.key === 'Escape') {
        if (cancel() || (!typing && st.sel && (select(null), true))) ev.preventDefault();
        return;
      }
      if (typing || !canvas.contains(ev.target) || !st.doc) return;
      var m = st.mode;
      if (ev.key === 'Enter' && m && m.type === 'polygon') { ev.preventDefault(); finishPolygon(); return; }
      if (ev.key === 'Delete' || ev.key === 'Backspace') {
        ev.preventDefault();
        if (m && m.type === 'polygon') {
          m.points.pop();
          status(CW.t('zone_editor.status.polygon_points', {n: m.points.length}));
          draw();
          tools();
        } else if (!m) deleteVertex();
        return;
      }
      var step = ev.shiftKey ? 10 : 1;
      var arrows = {ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step]};
      if (arrows[ev.key] && !m && nudge(arrows[ev.key][0], arrows[ev.key][1])) ev.preventDefault();
    }

    /* ---- the side panel: zones and signals to pick, the picked one's settings ---- */
    function list() {
      var ul = q('ze-list');
      ul.innerHTML = '';
      if (!st.doc) return;
      zones().forEach(function (z, i) {
        if (!isObject(z)) return;
        var on = !!(st.sel && st.sel.type === 'zone' && st.sel.index === i);
        ul.appendChild(CW.el('li', null, [CW.el('button', {type: 'button', class: 'ze-item' + (st.errors.zones[i] ? ' ze-bad' : ''),
          'aria-pressed': on ? 'true' : 'false', 'data-zone': String(i), onclick: function () { select('zone', i); }}, [
          CW.el('span', {class: 'swatch', style: 'background:' + (CWZones.colors[z.kind] || '#a855f7')}),
          CW.el('span', {class: 'ze-item-name', text: shownName(z)}),
          CW.el('span', {class: 'muted small', text: CW.label('zone', z.kind)})
        ])]));
      });
      signals().forEach(function (s, j) {
        if (!isObject(s)) return;
        var on = !!(st.sel && st.sel.type === 'signal' && st.sel.index === j);
        ul.appendChild(CW.el('li', null, [CW.el('button', {type: 'button', class: 'ze-item' + (st.errors.signals[j] ? ' ze-bad' : ''),
          'aria-pressed': on ? 'true' : 'false', 'data-signal': String(j), onclick: function () { select('signal', j); }}, [
          CW.el('span', {class: 'swatch swatch-signal'}),
          CW.el('span', {class: 'ze-item-name', text: s.name || '?'}),
          CW.el('span', {class: 'muted small', text: CW.t('zone_editor.signal')})
        ])]));
      });
    }

    function field(labelText, id, value, onchange, attrs) {
      var input = CW.el('input', Object.assign({id: id, value: value === undefined || value === null ? '' : String(value),
        autocomplete: 'off', spellcheck: 'false', onchange: function () { onchange(input.value.trim()); }}, attrs || {}));
      return [CW.el('label', {for: id, text: labelText}), input];
    }

    /* A number box: a number goes into the document, anything else goes in as typed, so that the
       server names the field (the page never guesses a value); empty removes the setting. */
    function numberOrText(text) {
      if (text === '') return undefined;
      var n = Number(text);
      return /^[-+]?(\d+\.?\d*|\.\d+)$/.test(text) && isFinite(n) ? n : text;
    }
    function setKey(obj, key, v) {
      if (v === undefined) delete obj[key]; else obj[key] = v;
    }

    function labelEdit(z, lang, text) {
      var names = isObject(z.label) ? Object.assign({}, z.label) : {};
      if (typeof z.label === 'string') { names['zh-CN'] = z.label; names.en = z.label; }
      if (text) names[lang] = text; else delete names[lang];
      setKey(z, 'label', Object.keys(names).length ? names : undefined);
    }

    function props() {
      var box = q('ze-props');
      box.innerHTML = '';
      var z = selectedZone(), s = selectedSignal();
      box.hidden = !(z || s) || !st.doc;
      if (box.hidden) return;
      var kids = [];
      if (z) {
        var label = isObject(z.label) ? z.label : (typeof z.label === 'string' ? {'zh-CN': z.label, en: z.label} : {});
        kids.push(CW.el('h4', {text: CW.t('zone_editor.zone_heading', {kind: CW.label('zone', z.kind)})}));
        kids = kids.concat(field(CW.t('zone_editor.key'), 'ze-p-name', z.name, function (v) { z.name = v; commit(true); }, {maxlength: '64'}));
        kids = kids.concat(field(CW.t('zone_editor.label_zh'), 'ze-p-label-zh', label['zh-CN'], function (v) { labelEdit(z, 'zh-CN', v); commit(true); }, {maxlength: '64'}));
        kids = kids.concat(field(CW.t('zone_editor.label_en'), 'ze-p-label-en', label.en, function (v) { labelEdit(z, 'en', v); commit(true); }, {maxlength: '64'}));
        if (z.kind === 'crosswalk') {
          var names = signalNames().filter(Boolean);
          if (z.signal && names.indexOf(z.signal) < 0) names.unshift(z.signal);
          var sel = CW.el('select', {id: 'ze-p-signal', onchange: function () { z.signal = sel.value; commit(true); }},
            names.map(function (n) { return CW.el('option', {value: n, text: n, selected: n === z.signal}); }));
          kids.push(CW.el('label', {for: 'ze-p-signal', text: CW.t('zone_editor.signal')}), sel);
        }
        if (MAIN_SETTING[z.kind]) {
          var key = MAIN_SETTING[z.kind];
          kids = kids.concat(field(CW.t('zone_editor.setting.' + key), 'ze-p-setting', z[key],
            function (v) { setKey(z, key, numberOrText(v)); commit(true); }, {inputmode: 'decimal'}));
        }
        if (z.kind === 'lane') {
          var d = z.direction, has = Array.isArray(d) && isPoint(d[0]) && isPoint(d[1]);
          kids.push(CW.el('p', {class: 'small', id: 'ze-p-direction', text: has ? CW.t('zone_editor.direction_is', {x1: d[0][0], y1: d[0][1], x2: d[1][0], y2: d[1][1]}) : CW.t('zone_editor.direction_none')}));
          kids.push(CW.el('div', {class: 'actions'}, [
            CW.el('button', {type: 'button', class: 'btn btn-sm', id: 'ze-draw-direction', text: CW.t('zone_editor.draw_direction'),
              onclick: function () { startMode({type: 'direction', zone: st.sel.index}); }}),
            has ? CW.el('button', {type: 'button', class: 'btn btn-sm', id: 'ze-reverse', text: CW.t('zone_editor.reverse'),
              onclick: function () { z.direction = [d[1], d[0]]; commit(); status(CW.t('zone_editor.status.direction_set')); }}) : null
          ]));
        }
        var poly = polygonOf(z) || [];
        kids.push(CW.el('p', {class: 'small muted', text: CW.t('zone_editor.points', {n: poly.length})}));
      } else {
        var index = st.sel.index;
        kids.push(CW.el('h4', {text: CW.t('zone_editor.signal_heading')}));
        kids = kids.concat(field(CW.t('zone_editor.key'), 'ze-p-name', s.name, function (v) {
          var old = s.name;
          s.name = v;
          zones().forEach(function (z2) { if (isObject(z2) && z2.kind === 'crosswalk' && z2.signal === old) z2.signal = v; });
          commit(true);
        }, {maxlength: '64'}));
        var how = isRoi(s.roi) ? CW.t('zone_editor.roi_is', {x: s.roi[0], y: s.roi[1], w: s.roi[2], h: s.roi[3]})
          : (s.schedule || s.timeline) ? CW.t('zone_editor.roi_timed') : CW.t('zone_editor.roi_none');
        kids.push(CW.el('p', {class: 'small', id: 'ze-p-roi', text: how}));
        kids.push(CW.el('div', {class: 'actions'}, [CW.el('button', {type: 'button', class: 'btn btn-sm', id: 'ze-draw-roi',
          text: CW.t('zone_editor.draw_roi'), onclick: function () { startMode({type: 'roi', signal: index}); }})]));
      }
      kids.forEach(function (k) { box.appendChild(k); });
    }

    /* Buttons say what can be done now. */
    function tools() {
      var m = st.mode, ok = !!st.doc;
      q('ze-finish').disabled = !(m && m.type === 'polygon' && m.points.length);
      q('ze-cancel').disabled = !m;
      q('ze-del-vertex').disabled = !!m || !(selectedZone() && st.vertex !== null);
      q('ze-del-item').disabled = !!m || !st.sel;
      q('ze-del-item').textContent = st.sel && st.sel.type === 'signal' ? CW.t('zone_editor.delete_signal') : CW.t('zone_editor.delete_item');
      ['ze-draw-zone', 'ze-draw-signal', 'ze-new-kind', 'ze-new-name', 'ze-new-signal', 'ze-new-signal-name'].forEach(function (id) {
        q(id).disabled = !ok || !!m;
      });
      canvas.classList.toggle('ze-drawing-mode', !!m);
    }

    function status(text, error) {
      var node = q('ze-status');
      node.textContent = text || '';
      node.classList.toggle('ze-status-error', !!error);
    }

    /* The "add a zone" form: a free key for the kind, and for a crosswalk the signal it obeys. */
    function newZoneForm() {
      var kind = q('ze-new-kind').value, nameBox = q('ze-new-name');
      if (!nameBox.value || nameBox.getAttribute('data-auto') === nameBox.value || zoneNames().indexOf(nameBox.value) >= 0) {
        nameBox.value = uniqueName(kind, zoneNames());
        nameBox.setAttribute('data-auto', nameBox.value);
      }
      var sigSel = q('ze-new-signal'), keep = sigSel.value;
      sigSel.innerHTML = '';
      signalNames().filter(Boolean).forEach(function (n) { sigSel.appendChild(CW.el('option', {value: n, text: n, selected: n === keep})); });
      q('ze-new-signal-box').hidden = kind !== 'crosswalk';
    }
    function newSignalName() {
      var box = q('ze-new-signal-name');
      if (!box.value || signalNames().indexOf(box.value) >= 0) box.value = uniqueName('signal', signalNames());
    }

    function startZone() {
      if (!st.doc) return;
      var kind = q('ze-new-kind').value, name = q('ze-new-name').value.trim();
      if (KINDS.indexOf(kind) < 0) return;
      if (!name) { status(CW.t('zone_editor.need_key'), true); q('ze-new-name').focus(); return; }
      if (zoneNames().indexOf(name) >= 0) { status(CW.t('zone_editor.key_taken', {name: name}), true); q('ze-new-name').focus(); return; }
      if (kind === 'crosswalk' && !q('ze-new-signal').value) { status(CW.t('zone_editor.need_signal'), true); return; }
      st.sel = null;
      list();
      props();
      startMode({type: 'polygon', kind: kind, name: name, signal: q('ze-new-signal').value, points: []});
    }

    function startSignal() {
      if (!st.doc) return;
      var name = q('ze-new-signal-name').value.trim();
      if (!name) { status(CW.t('zone_editor.need_key'), true); q('ze-new-signal-name').focus(); return; }
      if (signalNames().indexOf(name) >= 0) { status(CW.t('zone_editor.key_taken', {name: name}), true); q('ze-new-signal-name').focus(); return; }
      st.sel = null;
      list();
      props();
      startMode({type: 'roi', name: name});
    }

    /* ---- wiring ---- */
    q('ze-finish').addEventListener('click', finishPolygon);
    q('ze-cancel').addEventListener('click', cancel);
    q('ze-del-vertex').addEventListener('click', deleteVertex);
    q('ze-del-item').addEventListener('click', deleteItem);
    q('ze-draw-zone').addEventListener('click', startZone);
    q('ze-draw-signal').addEventListener('click', startSignal);
    q('ze-new-kind').addEventListener('change', newZoneForm);
    section.addEventListener('keydown', onKey);
    textarea.addEventListener('input', function () {
      clearTimeout(parseTimer);
      parseTimer = setTimeout(function () { fromText(textarea.value); }, 250);
    });
    window.addEventListener('resize', function () { draw(); });

    return {
      /* the document to edit (the camera's, or a version opened from the history) */
      setText: function (text) { fromText(text || ''); newSignalName(); },
      /* where the reference frame is, and the frame size to use while the document has none */
      setFrame: function (reference, fallbackSize) {
        st.reference = reference || null;
        st.fallbackSize = Array.isArray(fallbackSize) && fallbackSize.length === 2 ? fallbackSize : null;
        build();
      },
      /* the server's field errors: zones and signals they name are outlined in red */
      showErrors: function (errors) {
        st.errors = {zones: {}, signals: {}};
        (errors || []).forEach(function (e) {
          var loc = e.loc || [];
          if ((loc[0] === 'zones' || loc[0] === 'signals') && typeof loc[1] === 'number') st.errors[loc[0]][loc[1]] = true;
        });
        draw();
        list();
      },
      /* true while an outline, arrow or box is half drawn (saving then would leave it out) */
      busy: function () { return !!st.mode; },
      cancel: cancel
    };
  }

  window.CWZoneEditor = {create: create};
})();
