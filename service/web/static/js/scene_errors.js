/* A scene's problems, one line per field, under the editor: the field path as the scene file
   writes it (zones[0].polygon) and what is wrong, in the page language where the kind of problem
   is a known one (the server's English words otherwise, kept in the tooltip either way). */
(function () {
  'use strict';

  function text(e) {
    var params = {msg: e.msg || ''};
    Object.keys(e.ctx || {}).forEach(function (k) { params[k] = e.ctx[k]; });
    var key = 'scene_error.' + (e.type || '');
    var out = CW.has(key) ? CW.t(key, params) : CW.t('scene_error.other', params);
    if (e.line) out += ' (' + CW.t('camera.edit.line', {line: e.line, column: e.column || 1}) + ')';
    return out;
  }

  /* errors: the API's ``errors`` list ({field, loc, msg, type, ctx?, line?}); none hides the box. */
  function show(list, errors, box, title) {
    list.innerHTML = '';
    errors = errors || [];
    (box || list).hidden = !errors.length;
    if (title) title.textContent = errors.length ? CW.t('camera.edit.errors', {n: errors.length}) : '';
    errors.forEach(function (e) {
      list.appendChild(CW.el('li', {class: 'field-error', 'data-field': e.field || '', title: e.msg || ''}, [
        CW.el('code', {class: 'field-path', text: e.field || CW.t('camera.edit.field_whole')}),
        CW.el('span', {class: 'field-msg', text: text(e)})
      ]));
    });
  }

  /* The field errors of a failed API call, or null when it failed for another reason. */
  function of(err) {
    var body = err && err.body;
    return body && Array.isArray(body.errors) && body.code === 'bad_scene' ? body.errors : null;
  }

  window.CWSceneErrors = {show: show, of: of, text: text};
})();
