/* The scene's zones drawn over the camera's reference frame, as SVG in scene pixels, so the
   drawing matches the coordinates the rules used whatever size the page shows it at. */
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = {crosswalk: '#f5a623', lane: '#3b82f6', no_parking: '#e5484d', no_litter: '#30a46c'};

  function svg(tag, attrs) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function centroid(points) {
    var x = 0, y = 0;
    points.forEach(function (p) { x += p[0]; y += p[1]; });
    return [x / points.length, y / points.length];
  }

  /* opts: {reference: url, highlight: zone name, box: [x1,y1,x2,y2], path: [[t,x,y],...],
           names: {zone key: {zh-CN, en}} (labels the scene gives; else each zone's own label, else its key)} */
  function draw(container, scene, opts) {
    opts = opts || {};
    container.innerHTML = '';
    var size = scene.frame_size || [1280, 720], w = size[0], h = size[1];
    var root = svg('svg', {viewBox: '0 0 ' + w + ' ' + h, class: 'zones-svg', role: 'img', preserveAspectRatio: 'xMidYMid meet'});
    root.appendChild(svg('rect', {x: 0, y: 0, width: w, height: h, fill: '#1f2633'}));
    if (opts.reference) {
      var img = svg('image', {x: 0, y: 0, width: w, height: h, preserveAspectRatio: 'none'});
      img.setAttributeNS('http://www.w3.org/1999/xlink', 'href', opts.reference);
      img.setAttribute('href', opts.reference);
      root.appendChild(img);
    }
    var defs = svg('defs');
    var marker = svg('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse'});
    marker.appendChild(svg('path', {d: 'M 0 0 L 10 5 L 0 10 z', fill: '#fff'}));
    defs.appendChild(marker);
    root.appendChild(defs);
    var stroke = Math.max(2, w / 400), font = Math.max(12, w / 55);
    (scene.zones || []).forEach(function (z) {
      var color = COLORS[z.kind] || '#a855f7';
      var hi = opts.highlight && opts.highlight === z.name;
      var dim = opts.highlight && !hi;
      var pts = (z.polygon || []).map(function (p) { return p[0] + ',' + p[1]; }).join(' ');
      root.appendChild(svg('polygon', {points: pts, fill: color, 'fill-opacity': hi ? 0.35 : (dim ? 0.08 : 0.22), stroke: color, 'stroke-width': hi ? stroke * 2 : stroke, 'stroke-opacity': dim ? 0.5 : 1, 'data-zone': z.name}));
      if (z.direction) {
        var d = z.direction;
        root.appendChild(svg('line', {x1: d[0][0], y1: d[0][1], x2: d[1][0], y2: d[1][1], stroke: '#fff', 'stroke-width': stroke * 1.5, 'marker-end': 'url(#arrow)'}));
      }
      if (z.polygon && z.polygon.length) {
        var c = centroid(z.polygon);
        var label = svg('text', {x: c[0], y: c[1], 'font-size': font, 'text-anchor': 'middle', 'dominant-baseline': 'middle', class: 'zone-label', fill: '#fff', stroke: '#000', 'stroke-width': font / 6, 'paint-order': 'stroke'});
        label.textContent = window.CW && CW.localName ? CW.localName((opts.names || {})[z.name] || z.label, z.name) : z.name;
        root.appendChild(label);
      }
    });
    (scene.signals || []).forEach(function (s) {
      if (!s.roi) return;
      root.appendChild(svg('rect', {x: s.roi[0], y: s.roi[1], width: s.roi[2], height: s.roi[3], fill: 'none', stroke: '#facc15', 'stroke-width': stroke, 'stroke-dasharray': stroke * 2}));
    });
    if (opts.path && opts.path.length > 1) {
      var line = opts.path.map(function (p) { return (p.length === 3 ? p[1] + ',' + p[2] : p[0] + ',' + p[1]); }).join(' ');
      root.appendChild(svg('polyline', {points: line, fill: 'none', stroke: '#ff3b30', 'stroke-width': stroke * 1.5, 'stroke-linejoin': 'round'}));
    }
    if (opts.box) {
      var b = opts.box;
      root.appendChild(svg('rect', {x: b[0], y: b[1], width: b[2] - b[0], height: b[3] - b[1], fill: 'none', stroke: '#ff3b30', 'stroke-width': stroke * 1.5}));
    }
    container.appendChild(root);
    return root;
  }

  window.CWZones = {draw: draw, colors: COLORS};
})();
