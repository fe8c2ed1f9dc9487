/* Drone footage upload in resumable chunks.
   The file is hashed first (SHA-256, slice by slice), a session is opened with the hash, and the
   chunks go up with their offset. After a network failure (or a reload) the page asks the server
   how much it already has and goes on from there; the server checks the hash at the end. */
(function () {
  'use strict';
  var CHUNK = window.CW_UPLOAD_CHUNK || 8 * 1024 * 1024;  /* tests shrink it to exercise resuming */
  var form = CW.$('upload-form');
  var cameraSelect = CW.$('camera');
  var cameras = {};
  var current = null;   // {file, sha256, sessionId, size}
  var aborter = null;
  /* A dropped connection mid-upload (a flaky 4G link in the field) is retried by itself, first
     after RETRY_FIRST_MS, doubling up to RETRY_MAX_MS, from the offset the server holds, until it
     goes through or the operator presses Stop. Tests shorten the wait. */
  var RETRY_FIRST_MS = window.CW_UPLOAD_RETRY_MS || 2000, RETRY_MAX_MS = 60000;
  /* The server's max_upload_bytes, rendered into the page (0: unknown). A larger file is refused
     here, before the hashing pass (minutes for a multi-GB flight); the server still checks. */
  var maxBytes = parseInt(form.getAttribute('data-max-bytes') || '0', 10) || 0;

  function tooLargeMessage(size, limit) {
    return CW.t('upload.too_large', {size: CW.formatBytes(size), limit: CW.formatBytes(limit)});
  }

  /* The message for a file over the limit, or null when it fits (or the limit is unknown). */
  function sizeProblem(file) {
    return file && maxBytes && file.size > maxBytes ? tooLargeMessage(file.size, maxBytes) : null;
  }

  if (maxBytes) {
    CW.$('upload-limit').textContent = CW.t('upload.limit', {limit: CW.formatBytes(maxBytes)});
    CW.$('upload-limit').hidden = false;
  }

  function storeKey(file) { return 'cw_upload:' + file.name + ':' + file.size + ':' + file.lastModified; }

  function setProgress(phase, done, total) {
    CW.$('upload-progress').hidden = false;
    var pct = total ? done / total * 100 : 0;
    CW.$('upload-bar').style.width = pct.toFixed(1) + '%';
    CW.$('upload-bar').className = 'progress-bar' + (phase === 'hashing' ? ' hashing' : '');
    CW.$('upload-phase').textContent = CW.t('upload.phase.' + phase) + (total ? ' · ' + CW.formatBytes(done) + ' / ' + CW.formatBytes(total) : '');
    CW.$('upload-pct').textContent = pct.toFixed(0) + '%';
    /* the bar as a progress bar to a screen reader: an operator hears how far a long upload is */
    CW.$('upload-meter').setAttribute('aria-valuenow', pct.toFixed(0));
  }

  function busy(on) {
    CW.$('upload-submit').disabled = on;
    CW.$('upload-abort').hidden = !on;
    if (on) CW.$('upload-resume').hidden = true;
    Array.prototype.forEach.call(form.querySelectorAll('input,select'), function (n) { n.disabled = on; });
  }

  function metadata() {
    var cam = cameras[cameraSelect.value] || {};
    var meta = {};
    var started = CW.zonedIso(CW.$('started_at').value, cam.timezone || 'Asia/Shanghai');
    if (started) meta.started_at = started;
    ['drone_id', 'pilot', 'place'].forEach(function (k) { var v = CW.$(k).value.trim(); if (v) meta[k] = v; });
    return meta;
  }

  function sendChunks() {
    var file = current.file;
    function step(offset) {
      setProgress('uploading', offset, file.size);
      if (offset >= file.size) {
        setProgress('finishing', file.size, file.size);
        return CW.api('POST', '/api/uploads/sessions/' + current.sessionId + '/complete', {}, {signal: aborter.signal});
      }
      var end = Math.min(offset + CHUNK, file.size);
      return file.slice(offset, end).arrayBuffer().then(function (buf) {
        return CW.api('PATCH', '/api/uploads/sessions/' + current.sessionId, buf, {
          headers: {'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream'}, signal: aborter.signal});
      }).then(function (res) {
        var next = res && typeof res.offset === 'number' ? res.offset : end;
        tries = 0;  // it goes through again: the next drop waits the shortest time
        return step(next);
      });
    }
    var tries = 0;
    function attempt() {
      return CW.api('GET', '/api/uploads/sessions/' + current.sessionId).then(function (s) {
        return step(s.offset || 0);
      }).then(null, function (err) {
        if (!retryable(err)) throw err;
        var wait = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * Math.pow(2, tries++));
        CW.showError('upload-error', {message: CW.t('upload.retrying', {seconds: Math.ceil(wait / 1000)})});
        return pause(wait).then(function () { CW.showError('upload-error', null); return attempt(); });
      });
    }
    return attempt();
  }

  /* What is worth sending again by itself: a network failure, a server or gateway that is down
     for a moment (502-504, 408), the server holding another part of the file (409: go on from
     its offset) and the server still receiving an earlier chunk (409 chunk_in_progress: the
     dropped connection's, read for up to a minute). Refusals (other 4xx), a full disk (507) and
     Stop are not. */
  function retryable(err) {
    if (err && err.name === 'AbortError') return false;
    if (!(err instanceof CW.ApiError)) return true;
    var code = err.body && err.body.code;
    return [408, 502, 503, 504].indexOf(err.status) >= 0 ||
      (err.status === 409 && (code === 'offset_mismatch' || code === 'upload_incomplete' || code === 'chunk_in_progress'));
  }

  /* A wait that Stop ends at once. */
  function pause(ms) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(resolve, ms);
      aborter.signal.addEventListener('abort', function () {
        clearTimeout(timer);
        var stopped = new Error('stopped');
        stopped.name = 'AbortError';
        reject(stopped);
      }, {once: true});
    });
  }

  function finish(result) {
    localStorage.removeItem(storeKey(current.file));
    busy(false);
    CW.$('upload-resume').hidden = true;
    CW.showError('upload-error', null);
    var ok = CW.$('upload-ok');
    ok.textContent = CW.t('upload.done', {job: result.job_id});
    ok.hidden = false;
    setProgress('done', current.file.size, current.file.size);
    form.reset();
    current = null;
    if (CW.refreshJobs) CW.refreshJobs();
  }

  function fail(err) {
    busy(false);
    var limit = err instanceof CW.ApiError && err.status === 413 && err.body && typeof err.body.limit_bytes === 'number' ? err.body.limit_bytes : 0;
    if (err && err.name === 'AbortError') { CW.showError('upload-error', {message: CW.t('upload.aborted')}); }
    else if (limit) {
      /* the server's limit, which may be lower than the one this page was rendered with */
      var size = current && current.file ? current.file.size : 0;
      CW.showError('upload-error', {message: size > limit ? tooLargeMessage(size, limit) : CW.t('upload.too_large_limit', {limit: CW.formatBytes(limit)})});
    }
    else if (err instanceof CW.ApiError && err.body && err.body.code === 'duplicate_upload') {
      /* say which job holds the file (one's own), or that someone else uploaded it */
      var dup = err.body;
      CW.showError('upload-error', {message: typeof dup.job_id === 'number'
        ? CW.t('upload.duplicate_own', {filename: dup.filename || '', job: dup.job_id})
        : CW.t('upload.duplicate_other')});
    }
    else if (err instanceof CW.ApiError) { CW.showError('upload-error', err); }
    else { CW.showError('upload-error', {message: CW.t('upload.network')}); }
    /* A session that the server no longer knows cannot be resumed; a refused file neither. A
       sign-in that ran out (401: the page goes to the login) keeps it, to go on after signing in.
       A 409 is mostly a wait (another part of the file, a chunk still arriving), but a duplicate
       is a refusal: the server keeps it for the session and answers every resume with it. */
    var refused = err instanceof CW.ApiError && err.body && err.body.code === 'duplicate_upload';
    var resumable = current && current.sessionId && !refused && !(err instanceof CW.ApiError && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 408 && err.status !== 409);
    if (!resumable && current) localStorage.removeItem(storeKey(current.file));
    CW.$('upload-resume').hidden = !resumable;
  }

  function start() {
    CW.$('upload-ok').hidden = true;
    CW.showError('upload-error', null);
    var file = CW.$('file').files[0];
    if (!cameraSelect.value) { CW.showError('upload-error', {message: CW.t('upload.need_camera')}); return; }
    if (!file) { CW.showError('upload-error', {message: CW.t('upload.need_file')}); return; }
    var tooLarge = sizeProblem(file);
    if (tooLarge) { CW.showError('upload-error', {message: tooLarge}); return; }
    /* What a session is opened with besides the file: a saved session opened with other details
       (the wrong camera picked, stopped, corrected) is abandoned for a new one with these. */
    var details = JSON.stringify(Object.assign({camera: cameraSelect.value}, metadata()));
    aborter = new AbortController();
    busy(true);
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(storeKey(file)) || 'null'); } catch (e) { saved = null; }
    current = {file: file, sha256: saved && saved.sha256, sessionId: saved && saved.sessionId};
    var ready;
    if (current.sessionId && typeof saved.details === 'string' && saved.details !== details) {
      var stale = current.sessionId;
      current.sessionId = null;
      ready = CW.api('DELETE', '/api/uploads/sessions/' + stale).then(null, function () {});  /* else it expires */
    } else if (current.sessionId) {
      /* Only a session the server no longer has (404) is given up for a new one from byte 0; a
         network failure or a 5xx keeps it, to resume, and a 401 goes to the login keeping it. */
      ready = CW.api('GET', '/api/uploads/sessions/' + current.sessionId).then(null, function (err) {
        if (!(err instanceof CW.ApiError && err.status === 404)) throw err;
        current.sessionId = null;
      });
    } else {
      ready = Promise.resolve();
    }
    ready.then(function () {
      if (current.sha256) return current.sha256;
      return CWSha256.hashBlob(file, function (done, total) { setProgress('hashing', done, total); });
    }).then(function (sha) {
      current.sha256 = sha;
      if (current.sessionId) return null;
      var body = Object.assign({camera: cameraSelect.value, filename: file.name, size: file.size, sha256: sha}, metadata());
      return CW.api('POST', '/api/uploads/sessions', body).then(function (s) {
        current.sessionId = s.session_id || s.id;
        localStorage.setItem(storeKey(file), JSON.stringify({sessionId: current.sessionId, sha256: sha, details: details}));
      });
    }).then(sendChunks).then(finish, fail);
  }

  function resume() {
    if (!current) { start(); return; }
    aborter = new AbortController();
    busy(true);
    CW.showError('upload-error', null);
    sendChunks().then(finish, fail);
  }

  form.addEventListener('submit', function (ev) { ev.preventDefault(); start(); });
  /* Say it as soon as the file is picked, not only on submit; picking one that fits takes it back. */
  var sizeShown = false;
  CW.$('file').addEventListener('change', function () {
    var problem = sizeProblem(CW.$('file').files[0]);
    if (problem) { CW.$('upload-ok').hidden = true; CW.showError('upload-error', {message: problem}); }
    else if (sizeShown) { CW.showError('upload-error', null); }
    sizeShown = !!problem;
  });
  CW.$('upload-resume').addEventListener('click', resume);
  CW.$('upload-abort').addEventListener('click', function () { if (aborter) aborter.abort(); });

  document.addEventListener('cw:ready', function () {
    CW.api('GET', '/api/cameras').then(function (data) {
      var list = CW.items(data, 'cameras');
      cameraSelect.innerHTML = '';
      cameraSelect.appendChild(CW.el('option', {value: '', text: list.length ? CW.t('upload.pick_camera') : CW.t('upload.no_cameras')}));
      list.forEach(function (c) {
        var id = c.camera_id || c.camera || c.id;
        cameras[id] = c;
        var place = CW.localName(c.place_names, c.place);  /* the place in the page's language, as the camera pages say it */
        cameraSelect.appendChild(CW.el('option', {value: id, text: id + (place ? ' · ' + place : '') + (c.kind === 'drone' ? ' (' + CW.t('camera.kind.drone') + ')' : '')}));
      });
      if (list.length === 1) cameraSelect.value = list[0].camera_id || list[0].camera || list[0].id;
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  });
})();
