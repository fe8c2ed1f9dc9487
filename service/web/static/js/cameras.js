/* Registered cameras as cards with their zones over the reference frame; admins add new ones.
   Retired cameras are left out unless "show retired" is ticked (then marked as such). */
(function () {
  'use strict';
  var grid = CW.$('camera-grid');

  function camId(c) { return c.camera_id || c.camera || c.id; }

  function card(c) {
    var id = camId(c);
    var map = CW.el('div', {class: 'zone-map'});
    var node = CW.el('a', {class: 'camera-card' + (c.retired ? ' camera-retired' : ''), href: '/cameras/' + encodeURIComponent(id), 'data-camera': id}, [
      map,
      CW.el('div', {class: 'camera-card-body'}, [
        CW.el('div', {class: 'camera-card-title'}, [CW.el('code', {text: id}), CW.el('span', null, [
          c.retired ? CW.el('span', {class: 'chip chip-retired', text: CW.t('cameras.retired_chip')}) : null,
          CW.el('span', {class: 'chip', text: CW.label('camera.kind', c.kind || 'fixed')})])]),
        CW.el('div', {class: 'muted small', text: CW.localName(c.place_names, c.place || '—') + ' · ' + (c.timezone || 'Asia/Shanghai')}),
        CW.el('div', {class: 'muted small', text: CW.t('cameras.zone_count', {n: (c.zones || (c.scene && c.scene.zones) || []).length})}),
        healthLine(health[id], c.timezone)
      ])
    ]);
    var scene = c.scene || c;
    if (scene.zones) CWZones.draw(map, scene, {reference: c.has_reference === false ? null : '/api/cameras/' + encodeURIComponent(id) + '/reference'});
    else CW.api('GET', '/api/cameras/' + encodeURIComponent(id)).then(function (full) {
      CWZones.draw(map, full.scene || full, {reference: full.has_reference === false ? null : '/api/cameras/' + encodeURIComponent(id) + '/reference'});
      node.querySelector('.camera-card-body .small:last-child').textContent = CW.t('cameras.zone_count', {n: ((full.scene || full).zones || []).length});
    }).catch(function () {});
    return node;
  }

  /* Live cameras: online/offline, last segment, gaps, lag behind live (GET /api/live/health). */
  var health = {};
  /* in the camera's zone, like every time of a camera's footage (not the browser's) */
  function when(iso, zone) { return iso ? CW.formatTime(iso, zone) : ''; }
  function secs(s) { return s == null ? '—' : (s < 120 ? CW.t('cameras.health.seconds', {n: Math.round(s)}) : CW.t('cameras.health.minutes', {n: Math.round(s / 60)})); }
  function healthLine(h, zone) {
    if (!h) return null;
    var parts = [h.last_segment_end ? CW.t('cameras.health.last_segment', {time: when(h.last_segment_end, zone)}) : CW.t('cameras.health.none'),
      CW.t('cameras.health.gaps', {n: h.gaps, s: Math.round(h.gap_seconds)}),
      CW.t('cameras.health.lag', {rec: secs(h.recording_lag_s), ana: secs(h.analysis_lag_s)})];
    if (h.gap_open_since) parts.push(CW.t('cameras.health.down_since', {time: when(h.gap_open_since, zone)}));
    return CW.el('div', {class: 'camera-health small', 'data-health': h.online ? 'online' : 'offline'}, [
      CW.el('span', {class: 'chip ' + (h.online ? 'chip-online' : 'chip-offline'),
        text: CW.t(h.online ? 'cameras.health.online' : 'cameras.health.offline')}),
      CW.el('span', {class: 'muted', text: ' ' + parts.join(' · ')})]);
  }

  function load() {
    CW.api('GET', '/api/live/health').then(function (list) {
      health = {}; (list || []).forEach(function (h) { health[h.camera_id] = h; });
    }).catch(function () { health = {}; }).then(loadCameras);
  }

  function loadCameras() {
    CW.api('GET', '/api/cameras' + (CW.$('show-retired').checked ? '?retired=include' : '')).then(function (data) {
      var list = CW.items(data, 'cameras');
      grid.innerHTML = '';
      if (!list.length) grid.appendChild(CW.el('p', {class: 'muted', text: CW.t('cameras.none')}));
      list.forEach(function (c) { grid.appendChild(card(c)); });
    }).catch(function (err) { grid.innerHTML = ''; grid.appendChild(CW.el('p', {class: 'form-error', text: err.message})); });
  }

  var form = CW.$('camera-form');
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var scene = CW.$('scene').files[0], ref = CW.$('reference').files[0];
    if (!scene) { CW.showError('camera-error', {message: CW.t('cameras.need_scene')}); return; }
    var fd = new FormData();
    fd.append('scene', scene);
    if (ref) fd.append('reference', ref);
    var stream = CW.$('stream-url').value.trim();
    CW.api('POST', '/api/cameras', fd).then(function (cam) {
      CW.cameraNotices(cam);
      if (stream) return CW.api('PUT', '/api/cameras/' + encodeURIComponent(cam.camera_id) + '/stream', {stream_url: stream});
    }).then(function () {
      CW.showError('camera-error', null); form.reset(); CW.toast(CW.t('cameras.added'), 'ok'); load();
    }).catch(function (err) { CW.showError('camera-error', err); });
  });
  CW.$('show-retired').addEventListener('change', load);
  document.addEventListener('cw:ready', load);
})();
