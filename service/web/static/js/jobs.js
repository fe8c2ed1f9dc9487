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
  function jobError(error) {
    var coded = /^([a-z][a-z0-9_]*): /.exec(error);
    if (coded && CW.has('error.' + coded[1])) {
      return CW.t('error.' + coded[1]) + ' ' + CW.t('jobs.error', {error: error.slice(coded[0].length)});
    }
    return CW.t('jobs.error', {error: error});
  }

  function row(j) {
    var state = j.state || 'queued', pct = state === 'done' ? 100 : percent(j.progress);
    var bar = CW.el('div', {class: 'progress progress-sm'}, [CW.el('div', {class: 'progress-bar state-' + state, style: 'width:' + pct.toFixed(0) + '%'})]);
    var stateCell = CW.el('td', {class: 'job-state'}, [CW.el('span', {class: 'state-badge state-' + state, text: CW.label('job', state)})]);
    /* the pipeline's or worker's own (English) words, led by a sentence in the page language; an
       error the service starts with a code the page has a sentence for (``job_stalled: ...``) is said
       in that sentence, its English details kept after it */
    if (j.error) stateCell.appendChild(CW.el('div', {class: 'job-error small', text: jobError(j.error)}));
    var actions = CW.el('td', {class: 'right job-actions'});
    if (state === 'queued' || state === 'running') {
      actions.appendChild(CW.el('button', {type: 'button', class: 'btn btn-ghost btn-sm job-cancel', text: CW.t('jobs.cancel'), onclick: function () {
        CW.api('POST', '/api/jobs/' + jobId(j) + '/cancel', {}).then(refresh).catch(function (e) { CW.toast(e.message, 'error'); });
      }}));
    }
    /* a cancelled or failed job is analysed again from its stored upload (the API always allowed
       it; the page had no button, and the same file uploaded again is refused as a duplicate) */
    if (state === 'cancelled' || state === 'failed') {
      actions.appendChild(CW.el('button', {type: 'button', class: 'btn btn-sm job-retry', text: CW.t('jobs.retry'), onclick: function (ev) {
        if (document.activeElement === ev.target) pressed = controlKey(ev.target);
        ev.target.disabled = true;
        CW.api('POST', '/api/jobs/' + jobId(j) + '/retry', {}).then(refresh).catch(function (e) {
          pressed = null;
          ev.target.disabled = false;
          ev.target.focus();
          CW.toast(e.message, 'error');
        });
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
  /* A long upload split across the worker pool: each part's span, state and worker, so an
     operator sees which part is slow or failed (its error on hover). */
  function segmentList(parts) {
    var done = parts.filter(function (p) { return p.state === 'done'; }).length;
    var list = CW.el('ol', {class: 'job-segments small'}, parts.map(function (p) {
      var text = CW.t('jobs.segment', {from: Number(p.span[0]).toFixed(0), to: Number(p.span[1]).toFixed(0),
                                       state: CW.label('job', p.state)});
      if (p.state === 'running') text += ' ' + Number(p.progress || 0).toFixed(0) + '%';
      if (p.cases_found) text += ' · ' + CW.t('jobs.segment.cases', {n: p.cases_found});
      if (p.attempts > 1) text += ' · ' + CW.t('jobs.segment.tries', {n: p.attempts});
      var attrs = {class: 'job-segment state-' + p.state, 'data-segment': String(p.index), text: text};
      if (p.error || p.worker) attrs.title = p.error || p.worker;
      return CW.el('li', attrs);
    }));
    return CW.el('div', {class: 'job-segments-box'}, [
      CW.el('div', {class: 'small', text: CW.t('jobs.segments', {done: done, total: parts.length})}), list]);
  }

  /* A warning in the page's words with its numbers (how much of a flight gave no cases decides
     whether to act; the numbers were only in a hover title, which a phone cannot show), and a
     kind the page has no sentence for with the pipeline's own words, not a bare "a problem". */
  function warningText(w) {
    var params = w.params || {};
    if (Object.keys(params).length && CW.has('jobs.warning.' + w.code + '.counted')) {
      return CW.t('jobs.warning.' + w.code + '.counted', params) + lossesText(params);
    }
    if (CW.has('jobs.warning.' + w.code) && w.code !== 'other') return CW.t('jobs.warning.' + w.code);
    return w.text ? CW.t('jobs.warning.other.text', {text: w.text}) : CW.t('jobs.warning.other');
  }

  /* When nothing was judged in a drone flight (registration lost): each period with how long it
     lasted and how many frames, so the operator can tell a few blurred frames from the minute
     that mattered; a split job's periods are the whole flight's. */
  function lossesText(params) {
    var losses = params.losses || [];
    if (!losses.length) return '';
    var items = losses.map(function (x) {
      return CW.t('jobs.warning.drone_unregistered.loss', {
        from: Number(x.from_s).toFixed(1), to: Number(x.to_s).toFixed(1),
        seconds: Number(x.to_s - x.from_s).toFixed(1), frames: x.frames});
    });
    if (params.more_losses) items.push(CW.t('jobs.warning.drone_unregistered.more', {n: params.more_losses}));
    return ' ' + CW.t('jobs.warning.drone_unregistered.losses', {list: items.join(CW.t('jobs.warning.drone_unregistered.separator'))});
  }

  function details(j) {
    var warnings = j.warnings || [], cases = j.cases || [], parts = j.segments || [];
    if (j.state !== 'done' && !warnings.length && !parts.length) return null;
    var box = CW.el('div', {class: 'job-details', 'aria-label': CW.t('jobs.details', {id: jobId(j)})});
    if (parts.length) box.appendChild(segmentList(parts));
    if (warnings.length) {
      box.appendChild(CW.el('div', {class: 'small', text: CW.t('jobs.warnings')}));
      box.appendChild(CW.el('ul', {class: 'job-warnings'}, warnings.map(function (w) {
        return CW.el('li', {class: 'job-warning warning-' + w.code, title: w.text, text: warningText(w)});
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
        /* the review page is the traffic police's: an operator's link there only bounced back to
           the upload page, so an operator gets the cases named, not linked */
        var canReview = !!(CW.me && (CW.me.role === 'reviewer' || CW.me.role === 'admin'));
        cases.forEach(function (c) {
          var text = CW.label('rule', c.rule) + ' (' + CW.label('state', c.state) + ')';
          links.appendChild(canReview
            ? CW.el('a', {href: c.url, class: 'job-case-link', 'data-case': c.id, text: text})
            : CW.el('span', {class: 'job-case-link', 'data-case': c.id, title: CW.t('jobs.cases_reviewed_by_police'), text: text}));
          links.appendChild(document.createTextNode(' '));
        });
        box.appendChild(links);
      }
      var report = reportBox(j);
      if (report) box.appendChild(report);
    }
    return CW.el('tr', {class: 'job-details-row', 'data-job-details': String(jobId(j))}, [CW.el('td', {colspan: '8'}, [box])]);
  }

  /* The flight report of a job's approved cases (issue 9): the unit it is for, whether it is for
     publication (made from the redacted media only), and links to what was made. What was typed
     and made is kept here, so the list's refresh does not lose it. */
  var reports = {};
  function reportState(id) {
    return reports[id] || (reports[id] = {unit: '', publication: false, busy: false, made: null, error: null});
  }
  function approvedCount(j) {
    return (j.cases || []).filter(function (c) { return c.state === 'approved' || c.state === 'published'; }).length;
  }
  function reportBox(j) {
    var n = approvedCount(j), id = String(jobId(j));
    if (!n) return null;
    var st = reportState(id);
    var unit = CW.el('input', {type: 'text', class: 'job-report-unit', maxlength: '200', value: st.unit,
      placeholder: CW.t('jobs.report.unit_placeholder'), 'aria-label': CW.t('jobs.report.unit'),
      oninput: function () { st.unit = unit.value; }});
    var pub = CW.el('input', {type: 'checkbox', class: 'job-report-publication', checked: st.publication,
      onchange: function () { st.publication = pub.checked; }});
    var make = CW.el('button', {type: 'button', class: 'btn btn-sm job-report-make', disabled: st.busy,
      text: st.busy ? CW.t('jobs.report.making') : CW.t('jobs.report.make', {count: n}),
      onclick: function () { makeReport(id); }});
    var box = CW.el('div', {class: 'job-report', 'data-job-report': id}, [
      CW.el('div', {class: 'job-report-form'}, [
        unit, CW.el('label', {class: 'job-report-pub small'}, [pub, ' ' + CW.t('jobs.report.publication')]), make])]);
    if (st.error) box.appendChild(CW.el('div', {class: 'job-report-error small', role: 'alert', text: st.error}));
    if (st.made) {
      var m = st.made;
      box.appendChild(CW.el('div', {class: 'job-report-links small', 'data-publication': m.publication ? '1' : '0'}, [
        CW.el('span', {text: CW.t(m.publication ? 'jobs.report.ready_public' : 'jobs.report.ready',
          {count: m.cases.length, seconds: Number(m.duration_s || 0).toFixed(1)}) + ' '}),
        CW.el('a', {class: 'job-report-open', href: m.html_url, target: '_blank', rel: 'noopener', text: CW.t('jobs.report.open')}), ' · ',
        CW.el('a', {class: 'job-report-video', href: m.video_url, target: '_blank', rel: 'noopener', text: CW.t('jobs.report.video')}), ' · ',
        CW.el('a', {class: 'job-report-pdf', href: m.pdf_url, target: '_blank', rel: 'noopener', text: CW.t('jobs.report.pdf')})]));
    }
    return box;
  }
  function redrawReport(j) {
    var old = body.querySelector('[data-job-report="' + jobId(j) + '"]');
    var fresh = reportBox(j);
    if (old && fresh) old.replaceWith(fresh);
  }
  var shown = {};  /* the jobs as last listed, for redrawing one report box */
  function makeReport(id) {
    var st = reportState(id);
    st.busy = true; st.error = null;
    redrawReport(shown[id]);
    CW.api('POST', '/api/jobs/' + id + '/flight-report', {publication: st.publication, unit: st.unit.trim() || null})
      .then(function (made) { st.made = made; })
      .catch(function (e) { st.error = e.message; })
      .then(function () { st.busy = false; redrawReport(shown[id]); });
  }

  function typing() {
    var a = document.activeElement;
    return a && a.tagName === 'INPUT' && a.type === 'text' && body.contains(a);
  }

  /* The list is rebuilt on every poll (each 1.5 s while a job runs): the control that had the
     focus (a job's Cancel or Retry, a case link, the report's checkbox) gets it back in the new
     list. Before, a keyboard user's focus fell to the page's body before Enter could press it. */
  var pressed = null;  /* the key of a control disabled as it was pressed (which drops its focus) */
  function controlKey(a) {
    var tr = a && a !== body && body.contains(a) ? a.closest('tr') : null;
    if (!tr) return null;
    return {row: tr.getAttribute('data-job') ? '[data-job="' + tr.getAttribute('data-job') + '"]'
                                             : '[data-job-details="' + tr.getAttribute('data-job-details') + '"]',
            tag: a.tagName, cls: a.className, dataCase: a.getAttribute('data-case')};
  }
  function refocus(was) {
    var tr = was && body.querySelector('tr' + was.row);
    if (!tr) return;
    var same = Array.prototype.filter.call(tr.querySelectorAll(was.tag), function (n) {
      return n.className === was.cls && n.getAttribute('data-case') === was.dataCase && !n.disabled;
    })[0];
    if (same) { same.focus(); return; }
    /* the control is gone (a cancelled job has no Cancel): the job's row, not the page's top */
    tr.setAttribute('tabindex', '-1');
    tr.focus();
  }

  function refresh() {
    clearTimeout(timer);
    if (typing()) {  /* do not rebuild the list under someone typing a unit's name */
      timer = setTimeout(refresh, 2000);
      return Promise.resolve();
    }
    return CW.api('GET', '/api/jobs').then(function (data) {
      var jobs = CW.items(data, 'jobs');
      var was = controlKey(document.activeElement) || pressed;
      pressed = null;
      body.innerHTML = '';
      if (!jobs.length) body.appendChild(CW.el('tr', {class: 'empty'}, [CW.el('td', {colspan: '8', text: CW.t('jobs.none')})]));
      jobs.forEach(function (j) {
        shown[String(jobId(j))] = j;
        body.appendChild(row(j));
        var more = details(j);
        if (more) body.appendChild(more);
      });
      refocus(was);
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
