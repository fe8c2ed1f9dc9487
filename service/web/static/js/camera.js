/* One camera: its zones drawn on the reference frame and the zone and signal settings; for
   editors, the place / time zone, the zone editor over the reference frame and the scene
   document it edits (each save a new scene version, field errors shown under the editor and
   outlined in the drawing), a new reference frame, the version history, and retiring. */
(function () {
  'use strict';
  var id = CW.$('cam-id').getAttribute('data-camera');
  var base = '/api/cameras/' + encodeURIComponent(id);
  var cam = null;
  var zoneEditor = null;  /* CWZoneEditor, for editors */

  function detail(z) {
    var bits = [];
    if (z.kind === 'crosswalk' && z.signal) bits.push(CW.t('camera.detail.signal', {signal: z.signal}));
    if (z.kind === 'no_parking' && z.max_stop_s) bits.push(CW.t('camera.detail.max_stop', {s: z.max_stop_s}));
    if (z.kind === 'no_litter' && z.min_static_s) bits.push(CW.t('camera.detail.min_static', {s: z.min_static_s}));
    if (z.kind === 'lane' && z.direction) bits.push(CW.t('camera.detail.direction'));
    if (z.classes) bits.push(z.classes.join(', '));
    return bits.join(' · ');
  }

  function render(c, fillEditor) {
    var scene = c.scene || c;
    var size = scene.frame_size || [];
    CW.$('cam-summary').textContent = [CW.localName(scene.place_names || c.place_names, scene.place || c.place), CW.label('camera.kind', scene.kind || 'fixed'), size.join('×') + ' px', scene.timezone || 'Asia/Shanghai'].filter(Boolean).join(' · ');
    var chip = CW.$('cam-version');
    chip.hidden = !c.scene_version;
    chip.textContent = CW.t('camera.version', {n: c.scene_version});
    CW.$('cam-retired-chip').hidden = !c.retired;
    var banner = CW.$('cam-retired');
    banner.hidden = !c.retired;
    banner.textContent = c.retired ? CW.t('camera.retired_banner', {when: CW.formatTime(c.retired_at, c.timezone), who: c.retired_by || '—'}) +
      (c.retired_reason ? ' ' + CW.t('camera.retired_reason', {reason: c.retired_reason}) : '') : '';
    CWZones.draw(CW.$('cam-map'), scene, {reference: c.has_reference === false ? null : base + '/reference?v=' + (c.scene_version || 0)});
    var body = CW.$('cam-zones');
    body.innerHTML = '';
    (scene.zones || []).forEach(function (z) {
      body.appendChild(CW.el('tr', null, [
        CW.el('td', null, [CW.el('span', {class: 'swatch', style: 'background:' + (CWZones.colors[z.kind] || '#a855f7')})]),
        CW.el('td', {text: z.name}),
        CW.el('td', {text: CW.label('zone', z.kind)}),
        CW.el('td', {class: 'small muted', text: detail(z)})
      ]));
    });
    var sig = CW.$('cam-signals');
    sig.innerHTML = '';
    (scene.signals || []).forEach(function (s) {
      var how = s.roi ? CW.t('camera.signal.roi') : s.schedule ? CW.t('camera.signal.schedule') : CW.t('camera.signal.timeline');
      sig.appendChild(CW.el('li', null, [CW.el('strong', {text: s.name}), ' · ' + how]));
    });
    if (!(scene.signals || []).length) sig.appendChild(CW.el('li', {class: 'muted', text: CW.t('camera.signals.none')}));
    if (CW.$('edit-place') && fillEditor) {
      CW.$('edit-place').value = c.place || '';
      CW.$('edit-timezone').value = c.timezone || '';
      CW.$('scene-text').value = c.scene_yaml || '';
      if (zoneEditor) {
        zoneEditor.setFrame(c.has_reference === false ? null : base + '/reference?v=' + (c.scene_version || 0), c.frame_size);
        zoneEditor.setText(c.scene_yaml || '');
      }
    }
    var retireForm = CW.$('retire-form');
    if (retireForm) {
      retireForm.hidden = !!c.retired;
      CW.$('unretire-box').hidden = !c.retired;
    }
  }

  function loadVersions() {
    CW.api('GET', base + '/versions').then(function (data) {
      var body = CW.$('cam-versions');
      body.innerHTML = '';
      CW.items(data, 'items').forEach(function (v) {
        var open = CW.$('scene-text') ? CW.el('button', {type: 'button', class: 'btn btn-ghost btn-sm', text: CW.t('camera.versions.load'),
          onclick: function () { openVersion(v.version); }}) : null;
        body.appendChild(CW.el('tr', {'data-version': String(v.version), class: v.current ? 'current' : null}, [
          CW.el('td', null, [String(v.version), v.current ? CW.el('span', {class: 'chip', text: CW.t('camera.versions.current')}) : null]),
          CW.el('td', {text: CW.formatTime(v.created_at, cam && cam.timezone)}),
          CW.el('td', {text: v.created_by === 'migration' ? CW.t('camera.versions.migration') : (v.created_by || '—')}),
          CW.el('td', {class: 'small', text: v.note && v.created_by !== 'migration' ? v.note : ''}),
          CW.el('td', null, [CW.el('code', {class: 'small', title: v.sha256, text: (v.sha256 || '').slice(0, 12)})]),
          CW.el('td', {class: 'right'}, [open])
        ]));
      });
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  function load(fillEditor) {
    return CW.api('GET', base).then(function (c) {
      cam = c;
      render(c, fillEditor);
      loadVersions();
    }).catch(function (err) { CW.$('cam-summary').textContent = err.message; });
  }

  function openVersion(n) {
    CW.api('GET', base + '/versions/' + n).then(function (v) {
      CW.$('scene-text').value = v.document;
      if (zoneEditor) zoneEditor.setText(v.document);
      sceneFeedback(null, CW.t('camera.versions.loaded', {n: n}));
      CW.$('scene-text').focus();
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  /* Under the scene editor: field errors (err with ``errors``), another failure, or a message. */
  function sceneFeedback(err, ok) {
    var fields = CWSceneErrors.of(err);
    CWSceneErrors.show(CW.$('scene-errors'), fields, CW.$('scene-errors-box'), CW.$('scene-errors-title'));
    CW.showError('scene-error', err && !fields ? err : null);
    var okBox = CW.$('scene-ok');
    okBox.hidden = !ok;
    okBox.textContent = ok || '';
    CW.$('scene-text').setAttribute('aria-invalid', fields ? 'true' : 'false');
    if (zoneEditor) zoneEditor.showErrors(fields);
  }

  function saved(c) {
    CW.toast(c.changed ? CW.t('camera.edit.saved', {n: c.scene_version}) : CW.t('camera.edit.unchanged'), 'ok');
    return load(true);
  }

  function editScene(check) {
    if (zoneEditor && zoneEditor.busy()) {  /* a half-drawn outline is not in the document yet */
      sceneFeedback({message: CW.t('zone_editor.finish_first')}, null);
      return;
    }
    var body = {scene_yaml: CW.$('scene-text').value};
    if (check) body.dry_run = true;
    else {
      body.base_version = cam && cam.scene_version || undefined;
      if (CW.$('scene-note').value.trim()) body.note = CW.$('scene-note').value.trim();
    }
    CW.api('PATCH', base, body).then(function (c) {
      if (check) { sceneFeedback(null, c.changed ? CW.t('camera.edit.valid') : CW.t('camera.edit.valid_unchanged')); return; }
      CW.$('scene-note').value = '';
      saved(c).then(function () {
        sceneFeedback(null, c.changed ? CW.t('camera.edit.saved', {n: c.scene_version}) : CW.t('camera.edit.unchanged'));
      });
    }).catch(function (err) { sceneFeedback(err, null); });
  }

  function wireEditor() {
    if (!CW.$('scene-form')) return;  /* not an editor: the section was removed */
    zoneEditor = CWZoneEditor.create({section: CW.$('zone-editor'), textarea: CW.$('scene-text')});
    CW.$('scene-form').addEventListener('submit', function (ev) { ev.preventDefault(); editScene(false); });
    CW.$('scene-check').addEventListener('click', function () { editScene(true); });
    CW.$('place-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var body = {base_version: cam && cam.scene_version || undefined};
      var place = CW.$('edit-place').value.trim(), tz = CW.$('edit-timezone').value.trim();
      /* only what was changed: a place given per language in the scene stays unless edited here */
      if (place !== (cam.place || '')) body.place = place;
      if (tz !== (cam.timezone || '')) body.timezone = tz;
      var list = CW.$('place-errors');
      if (body.place === undefined && body.timezone === undefined) { CW.toast(CW.t('camera.edit.unchanged'), 'ok'); return; }
      CW.api('PATCH', base, body).then(function (c) { CWSceneErrors.show(list, null); return saved(c); })
        .catch(function (err) {
          var fields = CWSceneErrors.of(err);
          if (fields) CWSceneErrors.show(list, fields);
          else { CWSceneErrors.show(list, null); CW.toast(err.message, 'error'); }
        });
    });
    CW.$('reference-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var file = CW.$('reference-file').files[0];
      if (!file) { CW.showError('reference-error', {message: CW.t('camera.edit.need_reference')}); return; }
      var fd = new FormData();
      fd.append('reference', file);
      if (cam && cam.scene_version) fd.append('base_version', String(cam.scene_version));
      CW.api('PUT', base + '/reference', fd).then(function (c) {
        CW.showError('reference-error', null);
        CW.$('reference-form').reset();
        CW.cameraNotices(c);
        return saved(c);
      }).catch(function (err) { CW.showError('reference-error', err); });
    });
    CW.$('retire-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!window.confirm(CW.t('camera.retire.confirm', {id: id}))) return;
      var reason = CW.$('retire-reason').value.trim();
      CW.api('POST', base + '/retire', reason ? {reason: reason} : {}).then(function () {
        CW.showError('retire-error', null);
        CW.$('retire-reason').value = '';
        CW.toast(CW.t('camera.retire.done'), 'ok');
        load(false);
      }).catch(function (err) { CW.showError('retire-error', err); });
    });
    CW.$('unretire-btn').addEventListener('click', function () {
      CW.api('POST', base + '/unretire', {}).then(function () {
        CW.showError('retire-error', null);
        CW.toast(CW.t('camera.unretire.done'), 'ok');
        load(false);
      }).catch(function (err) { CW.showError('retire-error', err); });
    });
  }

  document.addEventListener('cw:ready', function () {
    wireEditor();
    load(true);
  });
})();
