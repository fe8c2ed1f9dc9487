/* The job list with live progress: polls quickly while something runs, slowly otherwise. */
(function () {
  'use strict';
  var body = CW.$('jobs-body');
  if (!body) return;
  var timer = null;

  function percent(p) {
    if (p === null || p === undefined || isNaN(p)) return 0;
    return Math.max(0, Math.min(100, p <= 1 ? p * 100 : p));
  }
  function jobId(j) { return j.id !== undefined ? j.id : j.job_id; }

  function row(j) {
    var state = j.state || 'queued', pct = state === 'done' ? 100 : percent(j.progress);
    var bar = CW.el('div', {class: 'progress progress-sm'}, [CW.el('div', {class: 'progress-bar state-' + state, style: 'width:' + pct.toFixed(0) + '%'})]);
    var stateCell = CW.el('td', {class: 'job-state'}, [CW.el('span', {class: 'state-badge state-' + state, text: CW.label('job', state)})]);
    if (j.error) stateCell.appendChild(CW.el('div', {class: 'job-error small', text: CW.errorMessage(0, {detail: j.error, code: j.error_code})}));
    var actions = CW.el('td', {class: 'right job-actions'});
    if (state === 'queued' || state === 'running') {
      actions.appendChild(CW.el('button', {type: 'button', class: 'btn btn-ghost btn-sm', text: CW.t('jobs.cancel'), onclick: function () {
        CW.api('POST', '/api/jobs/' + jobId(j) + '/cancel', {}).then(refresh).catch(function (e) { CW.toast(e.message, 'error'); });
      }}));
    }
    var cases = j.cases_found === null || j.cases_found === undefined ? '—' : String(j.cases_found);
    var upload = j.upload || {};
    /* The classes and data-label let a phone show each job as a small block (app.css). */
    return CW.el('tr', {class: 'job-row', 'data-job': String(jobId(j)), 'data-state': state}, [
      CW.el('td', {class: 'mono job-id', text: '#' + jobId(j)}),
      CW.el('td', {class: 'ellipsis job-file', title: j.filename || upload.filename || '', text: j.filename || upload.filename || '—'}),
      CW.el('td', {class: 'job-camera', text: j.camera || j.camera_id || upload.camera || '—'}),
      CW.el('td', {class: 'nowrap job-created', text: CW.formatTime(j.created_at, j.timezone)}),
      stateCell,
      CW.el('td', {class: 'job-progress'}, [bar, CW.el('span', {class: 'small muted', text: pct.toFixed(0) + '%'})]),
      CW.el('td', {class: 'center job-cases', 'data-label': CW.t('jobs.col.cases'), text: cases}),
      actions
    ]);
  }

  /* What the operator in the field needs after a run: the analysis's warnings, what it saw
     (so "no case" reads as "looked and found nothing" or as "saw nothing"), links to the cases. */
  function pairs(obj, name) {
    return Object.keys(obj || {}).map(function (k) { return name(k) + ' ' + obj[k]; }).join(' · ');
  }
  function seenLines(j) {
    var seen = j.seen, out = [];
    if (!seen) return [CW.t('jobs.seen.unknown')];
    if (!seen.frames_decoded) return [CW.t('jobs.seen.nothing')];
    var secs = seen.duration_s === null || seen.duration_s === undefined ? '—' : Number(seen.duration_s).toFixed(1);
    out.push(CW.t('jobs.seen.analysed', {seconds: secs, frames: seen.frames_decoded}));
    var tracks = pairs(seen.tracks, function (k) { return CW.label('object', k); });
    out.push(tracks ? CW.t('jobs.seen.tracks', {list: tracks}) : CW.t('jobs.seen.no_tracks'));
    /* zones by the names the scene gives them (their keys where it gives none) */
    var zones = pairs(seen.tracks_per_zone, function (k) { return CW.localName((j.zone_names || {})[k], k); });
    if (zones) out.push(CW.t('jobs.seen.zones', {list: zones}));
    return out;
  }
  function details(j) {
    var warnings = j.warnings || [], cases = j.cases || [];
    if (j.state !== 'done' && !warnings.length) return null;
    var box = CW.el('div', {class: 'job-details', 'aria-label': CW.t('jobs.details', {id: jobId(j)})});
    if (warnings.length) {
      box.appendChild(CW.el('div', {class: 'small', text: CW.t('jobs.warnings')}));
      box.appendChild(CW.el('ul', {class: 'job-warnings'}, warnings.map(function (w) {
        var code = CW.has('jobs.warning.' + w.code) ? w.code : 'other';
        return CW.el('li', {class: 'job-warning warning-' + w.code, title: w.text, text: CW.t('jobs.warning.' + code)});
      })));
    }
    if (j.state === 'done') {
      box.appendChild(CW.el('div', {class: 'job-seen small muted'}, seenLines(j).map(function (line) {
        return CW.el('div', {text: line});
      })));
      if (!cases.length) {
        box.appendChild(CW.el('div', {class: 'job-no-cases small', text: CW.t('jobs.no_cases')}));
      } else {
        var links = CW.el('div', {class: 'job-case-links small'}, [CW.el('span', {text: CW.t('jobs.cases_found') + ' '})]);
        cases.forEach(function (c) {
          links.appendChild(CW.el('a', {href: c.url, class: 'job-case-link', 'data-case': c.id,
            text: CW.label('rule', c.rule) + ' (' + CW.label('state', c.state) + ')'}));
          links.appendChild(document.createTextNode(' '));
        });
        box.appendChild(links);
      }
    }
    return CW.el('tr', {class: 'job-details-row', 'data-job-details': String(jobId(j))}, [CW.el('td', {colspan: '8'}, [box])]);
  }

  function refresh() {
    clearTimeout(timer);
    return CW.api('GET', '/api/jobs').then(function (data) {
      var jobs = CW.items(data, 'jobs');
      body.innerHTML = '';
      if (!jobs.length) body.appendChild(CW.el('tr', {class: 'empty'}, [CW.el('td', {colspan: '8', text: CW.t('jobs.none')})]));
      jobs.forEach(function (j) {
        body.appendChild(row(j));
        var more = details(j);
        if (more) body.appendChild(more);
      });
      var busy = jobs.some(function (j) { return j.state === 'queued' || j.state === 'running'; });
      timer = setTimeout(refresh, busy ? 1500 : 8000);
    }).catch(function (err) {
      if (err.status === 401) return;
      timer = setTimeout(refresh, 5000);
    });
  }
  CW.refreshJobs = refresh;
  document.addEventListener('cw:ready', refresh);
})();
