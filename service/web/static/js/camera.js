/* One camera: its zones drawn on the reference frame, and the zone and signal settings. */
(function () {
  'use strict';
  var id = CW.$('cam-id').getAttribute('data-camera');

  function detail(z) {
    var bits = [];
    if (z.kind === 'crosswalk' && z.signal) bits.push(CW.t('camera.detail.signal', {signal: z.signal}));
    if (z.kind === 'no_parking' && z.max_stop_s) bits.push(CW.t('camera.detail.max_stop', {s: z.max_stop_s}));
    if (z.kind === 'no_litter' && z.min_static_s) bits.push(CW.t('camera.detail.min_static', {s: z.min_static_s}));
    if (z.kind === 'lane' && z.direction) bits.push(CW.t('camera.detail.direction'));
    if (z.classes) bits.push(z.classes.join(', '));
    return bits.join(' · ');
  }

  document.addEventListener('cw:ready', function () {
    CW.api('GET', '/api/cameras/' + encodeURIComponent(id)).then(function (c) {
      var scene = c.scene || c;
      var size = scene.frame_size || [];
      CW.$('cam-summary').textContent = [scene.place || c.place || '', CW.label('camera.kind', scene.kind || 'fixed'), size.join('×') + ' px', scene.timezone || 'Asia/Shanghai'].filter(Boolean).join(' · ');
      CWZones.draw(CW.$('cam-map'), scene, {reference: c.has_reference === false ? null : '/api/cameras/' + encodeURIComponent(id) + '/reference'});
      var body = CW.$('cam-zones');
      (scene.zones || []).forEach(function (z) {
        body.appendChild(CW.el('tr', null, [
          CW.el('td', null, [CW.el('span', {class: 'swatch', style: 'background:' + (CWZones.colors[z.kind] || '#a855f7')})]),
          CW.el('td', {text: z.name}),
          CW.el('td', {text: CW.label('zone', z.kind)}),
          CW.el('td', {class: 'small muted', text: detail(z)})
        ]));
      });
      var sig = CW.$('cam-signals');
      (scene.signals || []).forEach(function (s) {
        var how = s.roi ? CW.t('camera.signal.roi') : s.schedule ? CW.t('camera.signal.schedule') : CW.t('camera.signal.timeline');
        sig.appendChild(CW.el('li', null, [CW.el('strong', {text: s.name}), ' · ' + how]));
      });
      if (!(scene.signals || []).length) sig.appendChild(CW.el('li', {class: 'muted', text: CW.t('camera.signals.none')}));
    }).catch(function (err) { CW.$('cam-summary').textContent = err.message; });
  });
})();
