/* The reviewer's queue: one case at a time with its evidence, decided with the keyboard.
   A approves, R rejects (reason, Enter confirms), J/K move; after a decision the next case opens
   at once, so a reviewer can work through a queue without touching the mouse.
   The queue loads a page at a time (more as the list is scrolled or the reviewer moves past its
   end), shows the server's true total, and polls for new cases: they are appended and announced
   without moving the selection or the scroll position. */
(function () {
  'use strict';
  var queue = [];        // case summaries in the order shown
  var index = -1;        // position of the open case
  var current = null;    // full record of the open case
  var selected = {};     // id -> true for export
  var cameraCache = {};
  var busy = false;
  var PAGE = 50;
  var total = 0;         // the server's count of cases matching the filters
  var known = {};        // id -> true for every case this queue has seen (new ones are announced)
  var newest = null;     // created_at of the newest case matching the filters when last polled
  var newestLearnt = true;  // false while a queue loaded in part has not yet learnt its newest case
  var loadingMore = false;
  var pagedTo = null;    // the last case of the last page the server sent: "more" goes on after it
  /* A case's place in the list (created_at) is taken when its job's transaction inserts it, not
     when that transaction commits: a case committed a few milliseconds (or, behind a lock, some
     seconds) after a newer one sorts before it. A poll asking only from the newest case it knew,
     and "more" paging on after the last case it had, never saw such a case until the queue was
     loaded again. The poll looks this far back before the newest case and keeps the cases it has
     not seen (by id); one that sorts within the pages already loaded joins the queue (appended). */
  var NEW_CASE_OVERLAP_MS = 120000;
  var POLL_LIMIT = 500;  // a poll's page; a full one is followed by the next (the overlap repeats known cases)
  var POLL_MAX = 5000;

  function caseId(c) { return c.id !== undefined ? c.id : c.case_id; }
  function evidenceUrl(c, kind) {
    var ev = c.evidence || c.evidence_urls || {};
    return ev[kind] || ev[kind + '_url'] || '/api/cases/' + encodeURIComponent(caseId(c)) + '/evidence/' + kind;
  }
  function filters() {
    var q = new URLSearchParams();
    ['f-state', 'f-rule', 'f-camera', 'f-from', 'f-to'].forEach(function (id) {
      var node = CW.$(id);
      if (node.value) q.set(node.name, node.value);
    });
    if (plateShown) q.set('plate', plateShown);
    return q;
  }

  /* The plate search (GET /api/cases?plate=: a part of the plate in force, normalised by the
     server). The queue follows what is typed after a short pause, at once on Enter; a single
     letter or digit would match half the queue (the server refuses it), so the queue stays as it
     was and the field says why. `plateShown` is the search the queue was loaded with: every
     later load (a decision, a poll, "more") asks with it, not with a half-typed one. */
  var PLATE_SEPARATORS = /[\s.\u3002\u00b7\u2022\u30fb\u2027\u2010-\u2015_-]/g;
  var plateShown = '';
  var plateTimer = null;
  function plateChanged(now) {
    var field = CW.$('f-plate');
    var text = field.value.trim();
    var chars = text.replace(PLATE_SEPARATORS, '').length;
    clearTimeout(plateTimer);
    field.setAttribute('aria-invalid', chars === 1 ? 'true' : 'false');
    if (chars === 1) return;
    var wanted = chars ? text : '';
    if (wanted === plateShown) return;
    plateTimer = setTimeout(function () {
      plateShown = wanted;
      selected = {}; CW.$('select-all').checked = false;
      loadQueue();
    }, now ? 0 : 350);
  }
  function emptyText() {
    if (!plateShown) return CW.t('review.queue_empty');
    var narrowed = ['f-state', 'f-rule', 'f-camera', 'f-from', 'f-to'].some(function (id) { return CW.$(id).value; });
    return CW.t(narrowed ? 'review.plate_none.filtered' : 'review.plate_none');
  }
  /* the offence's wall-clock time; none for footage without a clock (the case's clock line says so:
     the time it was analysed is not when it happened) */
  function when(c) { return c.start_time || null; }
  function camOf(c) { return c.camera_id || c.camera || ''; }
  function tz(c) { return c.timezone || (cameraZones[camOf(c)]) || 'Asia/Shanghai'; }
  var cameraZones = {};

  function thumbUrl(c) {
    return c.snapshot_url ? c.snapshot_url + (c.snapshot_url.indexOf('?') < 0 ? '?' : '&') + 'w=96' : null;
  }

  /* The queue is rebuilt on each change (a decision, a poll, a page loaded): a checkbox that had
     the keyboard's focus gets it back, and "more" hands it to the first case it loaded. Before,
     the focus fell to the page's body, and tabbing onto "more" (which loads as it scrolls into
     view) dropped it at once. */
  function queueFocus(list) {
    var a = document.activeElement;
    if (!a || !list.contains(a)) return null;
    if (a.closest('#queue-more')) return {more: list.querySelectorAll('.queue-item').length};
    var item = a.classList.contains('pick') ? a.closest('.queue-item') : null;
    return item ? {id: item.getAttribute('data-case')} : null;
  }
  function restoreQueueFocus(list, was) {
    if (!was) return;
    var items = list.querySelectorAll('.queue-item');
    var item = was.more !== undefined ? items[was.more] : list.querySelector('.queue-item[data-case="' + CSS.escape(was.id) + '"]');
    var more = CW.$('queue-more');
    var target = item ? item.querySelector('input.pick') : was.more !== undefined && more ? more.firstChild : null;
    /* a kept checkbox is where it was (the list's scroll is restored): focusing it must not scroll */
    if (target) target.focus({preventScroll: was.more === undefined});
  }

  function renderQueue() {
    var list = CW.$('queue-list');
    var scroll = list.scrollTop;  /* re-rendering must not move the reviewer's place */
    var focused = queueFocus(list);
    list.innerHTML = '';
    CW.$('queue-count').textContent = CW.t('review.queue_count', {n: total});
    CW.$('queue-count').setAttribute('data-total', String(total));
    if (!queue.length) list.appendChild(CW.el('li', {class: 'empty', text: emptyText()}));
    queue.forEach(function (c, i) {
      var id = caseId(c);
      var box = CW.el('input', {type: 'checkbox', class: 'pick', 'aria-label': CW.t('review.select', {id: id}), checked: selected[id] ? true : null});
      box.addEventListener('click', function (ev) { ev.stopPropagation(); });
      box.addEventListener('change', function () { if (box.checked) selected[id] = true; else delete selected[id]; updateExport(); });
      var thumb = thumbUrl(c);
      var item = CW.el('li', {class: 'queue-item' + (i === index ? ' active' : ''), 'data-case': String(id), tabindex: '-1'}, [
        box,
        thumb ? CW.el('img', {class: 'qi-thumb', src: thumb, alt: '', loading: 'lazy', width: '64', height: '36'}) : CW.el('span', {class: 'qi-thumb'}),
        CW.el('div', {class: 'qi-main'}, [
          CW.el('div', {class: 'qi-top'}, [CW.el('span', {class: 'rule-dot rule-' + c.rule}), CW.el('span', {class: 'qi-rule', text: CW.label('rule', c.rule)})]),
          CW.el('div', {class: 'qi-sub muted small', text: [CW.formatTime(when(c), tz(c)), camOf(c), CW.localName(c.zone_names)].filter(Boolean).join(' · ')}),
          CW.el('div', {class: 'qi-id mono', title: String(id), text: '#' + id})
        ]),
        CW.el('span', {class: 'state-badge state-' + c.state, text: CW.label('state', c.state)})
      ]);
      item.addEventListener('click', function () { open(i); });
      list.appendChild(item);
    });
    if (queue.length < total) {
      var more = CW.el('li', {class: 'load-more', id: 'queue-more'}, [
        CW.el('button', {type: 'button', class: 'btn btn-sm btn-ghost', text: CW.t('review.load_more', {shown: queue.length, n: total})})
      ]);
      more.firstChild.addEventListener('click', function () { loadMore(); });
      list.appendChild(more);
      if (moreObserver) moreObserver.observe(more);
    }
    list.scrollTop = scroll;
    restoreQueueFocus(list, focused);
    updateExport();
    document.dispatchEvent(new CustomEvent('cw:queue'));
  }

  /* Scrolling the "more" row into view loads the next page. */
  var moreObserver = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    if (entries.some(function (e) { return e.isIntersecting; })) loadMore();
  }, {root: null}) : null;

  /* The next page, after the last case loaded (the server's list is in the queue's order): by
     offset, cases decided meanwhile shifted the pending list up and more than a small overlap of
     them skipped cases nobody had seen. Deduplicated by id all the same. */
  function loadMore() {
    if (loadingMore || queue.length >= total) return Promise.resolve();
    loadingMore = true;
    var seq = queueSeq;
    var q = filters();
    /* after the last case the server paged to (not the queue's last: decided cases leave the
       queue, and a late case found by the poll is appended out of the server's order) */
    if (pagedTo) q.set('after', caseId(pagedTo));  /* none yet: the first page */
    q.set('limit', String(PAGE));
    return CW.api('GET', '/api/cases?' + q.toString()).then(function (data) {
      loadingMore = false;
      if (seq !== queueSeq) return;
      total = data.total;
      var have = {};
      queue.forEach(function (c) { have[caseId(c)] = true; });
      var page = CW.items(data, 'cases');
      if (page.length) pagedTo = page[page.length - 1];
      page.forEach(function (c) {
        if (!have[caseId(c)]) { queue.push(c); known[caseId(c)] = true; }
      });
      renderQueue();
      if (index >= 0) CW.$('btn-next').disabled = index >= queue.length - 1;
    }).catch(function (err) { loadingMore = false; CW.toast(err.message, 'error'); });
  }

  /* `iso` less the overlap, as an ISO time the API reads (microseconds cut to milliseconds: earlier,
     never later); an unreadable time is sent as it is. */
  function millis(iso) {
    var m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$/.exec(iso || '');
    return m ? Date.parse(m[1] + (m[2] ? m[2].slice(0, 4) : '') + (m[3] || 'Z')) : NaN;
  }
  function overlapped(iso) {
    var t = millis(iso);
    return isNaN(t) ? iso : new Date(t - NEW_CASE_OVERLAP_MS).toISOString();
  }

  /* The list's order (the server's QUEUE_ORDER: created_at, start_s, id): a before b. */
  function sortsBefore(a, b) {
    if (a.created_at !== b.created_at) {
      var x = millis(a.created_at), y = millis(b.created_at);
      return x !== y && !isNaN(x) && !isNaN(y) ? x < y : a.created_at < b.created_at;
    }
    if ((a.start_s || 0) !== (b.start_s || 0)) return (a.start_s || 0) < (b.start_s || 0);
    return String(caseId(a)) < String(caseId(b));
  }

  /* Every case from `q` on, a page at a time: the overlap repeats cases the queue has, and a full
     page of them must not hide the new ones behind it. */
  function listFrom(q, got) {
    q.set('limit', String(POLL_LIMIT));
    return CW.api('GET', '/api/cases?' + q.toString()).then(function (data) {
      var items = CW.items(data, 'cases');
      got = (got || []).concat(items);
      if (items.length < POLL_LIMIT || got.length >= POLL_MAX) return got;
      q.set('after', caseId(items[items.length - 1]));
      return listFrom(q, got);
    });
  }

  /* New cases since the newest one this queue knows (less the overlap); `quiet` only learns them
     (after a load), but for late cases within the pages loaded, which "more" will not bring. */
  function poll(quiet) {
    if (!newest) return Promise.resolve();
    /* Until the newest case of a queue loaded in part is known, every case past the first page
       would look new: a poll then announced the second page's cases as "added" (a slow answer, or
       a short poll interval). Learn it first (again, if the last try failed). */
    if (!quiet && !newestLearnt) return learnNewest(queueSeq);
    var seq = queueSeq;
    var q = filters();
    q.set('created_since', overlapped(newest));
    var counted = filters();
    counted.set('limit', '1');
    return Promise.all([listFrom(q), CW.api('GET', '/api/cases?' + counted.toString())]).then(function (res) {
      if (seq !== queueSeq) return;
      var fresh = res[0].filter(function (c) { return !known[caseId(c)]; });
      /* Every older case is already in the queue: judged against this poll's own count, since the
         count of an earlier poll may already include a case its list request missed. */
      var allLoaded = queue.length + fresh.length >= res[1].total;
      fresh.forEach(function (c) {
        known[caseId(c)] = true;
        if (c.created_at > newest) newest = c.created_at;
        /* newest last: appended, nothing above moves; one that sorts before the last case paged
           (committed late) is appended too, as "more" pages on after that case and never brings it */
        if ((allLoaded && !quiet) || (pagedTo && !sortsBefore(pagedTo, c))) queue.push(c);
      });
      var before = total;
      total = res[1].total;
      if (quiet && !fresh.length) return;
      if (!quiet && fresh.length) announce(fresh.length);
      if (fresh.length || before !== total) {
        renderQueue();
        if (index >= 0) CW.$('btn-next').disabled = index >= queue.length - 1;
      }
    }).catch(function () { /* the next poll tries again */ });
  }

  function announce(n) {
    var news = CW.$('queue-news');
    news.textContent = CW.t('review.new_cases', {n: n});
    news.hidden = false;
    clearTimeout(announce.timer);
    announce.timer = setTimeout(function () { news.hidden = true; }, 20000);
  }

  function pollEvery() {
    var ms = Number(window.CW_REVIEW_POLL_MS || CW.$('queue-list').getAttribute('data-poll-ms')) || 15000;
    setInterval(function () { if (!document.hidden) poll(false); }, ms);
  }

  function updateExport() {
    var n = Object.keys(selected).length;
    var btn = CW.$('export-selected');
    btn.disabled = n === 0;
    btn.textContent = n ? CW.t('review.export_n', {n: n}) : CW.t('review.export');
    document.dispatchEvent(new CustomEvent('cw:selection', {detail: {n: n}}));
  }

  /* Filters can change while an earlier list is still on its way: only the latest request's
     answer may fill the queue. */
  var queueSeq = 0;
  function loadQueue(keepId) {
    var seq = ++queueSeq;
    var q = filters();
    q.set('limit', String(PAGE));
    return CW.api('GET', '/api/cases?' + q.toString()).then(function (data) {
      if (seq !== queueSeq) return;
      queue = CW.items(data, 'cases');
      total = data.total !== undefined ? data.total : queue.length;
      pagedTo = queue.length ? queue[queue.length - 1] : null;
      known = {};
      newest = null;
      queue.forEach(function (c) { known[caseId(c)] = true; if (!newest || c.created_at > newest) newest = c.created_at; });
      CW.$('queue-news').hidden = true;
      newestLearnt = queue.length >= total;
      learnNewest(seq);
      var at = 0;
      if (keepId !== undefined) queue.forEach(function (c, i) { if (caseId(c) === keepId) at = i; });
      index = -1;
      renderQueue();
      if (queue.length) open(at); else showEmpty();
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  /* The newest case matching the filters (the last one on the server's list), so the poll
     announces only cases added after this load. */
  var learning = null;  // the learnNewest on its way, if any (a poll waits for it, not a second one)
  function learnNewest(seq) {
    if (queue.length >= total) { newestLearnt = true; return Promise.resolve(); }
    if (learning && learning.seq === seq) return learning.done;
    var q = filters();
    q.set('limit', '1');
    q.set('offset', String(total - 1));
    var done = CW.api('GET', '/api/cases?' + q.toString()).then(function (data) {
      if (seq !== queueSeq) return;
      CW.items(data, 'cases').forEach(function (c) { if (c.created_at > newest) newest = c.created_at; });
      return poll(true).then(function () { if (seq === queueSeq) newestLearnt = true; });
    }).catch(function () { /* the next poll asks again */ }).then(function () {
      if (learning && learning.done === done) learning = null;
    });
    learning = {seq: seq, done: done};
    return done;
  }

  /* A decision made from the case's own buttons can hide the button that made it (the last case
     of the queue, or a case that stays on show as approved): focus would fall to the page's body,
     where a screen reader starts again from the top. Set by decided(), used once by the next
     fill() or showEmpty(). */
  var focusWasInCase = false;
  function keepFocus(fallback) {
    var was = focusWasInCase;
    focusWasInCase = false;
    var at = document.activeElement;
    if (!was || (at && at !== document.body && at.getClientRects().length)) return;
    /* the case's next decision (publish an approved case, reopen a rejected one) before moving on */
    var usable = function (b) { return !b.hidden && !b.disabled; };
    var target = fallback || Array.prototype.filter.call(document.querySelectorAll('.action-bar .spacer ~ .btn'), usable)[0] ||
      Array.prototype.filter.call(document.querySelectorAll('.action-bar .btn'), usable)[0] || CW.$('c-title');
    target.focus();
  }

  function showEmpty() {
    current = null;
    CW.$('case').hidden = true;
    CW.$('case-empty').hidden = false;
    keepFocus(CW.$('case-empty'));
    CWPlayer.close();
    CWSheet.show(null);
    var v = CW.$('c-video'); v.removeAttribute('src'); v.load();
  }

  function camera(id) {
    if (!cameraCache[id]) cameraCache[id] = CW.api('GET', '/api/cameras/' + encodeURIComponent(id)).catch(function () { return null; });
    return cameraCache[id];
  }

  function offenderBox(c) {
    if (c.key_box) return c.key_box;
    var track = c.offender_track || [];
    if (!track.length) return null;
    var t = c.key_frame && c.key_frame.t !== undefined ? c.key_frame.t : c.start_s;
    var best = track[0];
    track.forEach(function (p) { if (t !== undefined && Math.abs(p.t - t) < Math.abs(best.t - t)) best = p; });
    return best.box;
  }

  /* Where the case's wall-clock time came from (upload, scene, container), in the page language;
     '' for cases recorded before cases said so. */
  function clockSource(c) {
    var clock = c.clock;
    if (!clock) return '';
    var source = clock.source || 'none';
    return CW.has('review.clock.' + source) ? CW.t('review.clock.' + source) : CW.t('review.clock.other', {source: source});
  }

  /* A fact row shown only when there is something to say (its <dt> is the row's label). */
  function fact(id, value) {
    var dd = CW.$(id);
    dd.textContent = value || '';
    dd.hidden = !value;
    dd.previousElementSibling.hidden = !value;
  }

  /* Who flew the footage (upload form) and what the file says of itself: device and GPS position
     (evidence only: the published clip and the public record carry neither). */
  function flightFacts(c) {
    var flight = c.flight || {}, meta = c.source_metadata || {}, loc = meta.location;
    fact('c-drone', flight.drone_id);
    fact('c-pilot', flight.pilot);
    fact('c-device', [meta.make, meta.model, meta.serial].filter(Boolean).join(' · '));
    var where = '';
    if (loc && typeof loc.lat === 'number' && typeof loc.lon === 'number') {
      where = loc.lat.toFixed(5) + ', ' + loc.lon.toFixed(5) +
        (typeof loc.alt_m === 'number' ? ' · ' + Math.round(loc.alt_m) + ' m' : '');
    } else if (loc) {
      where = loc.raw;
    }
    fact('c-gps', where ? where + ' (' + CW.t('review.gps.private') + ')' : '');
  }

  /* Drone footage: the frames of the case were registered to the place's reference image (zones
     sit on the ground while the picture moves); how well, as the share of feature matches that
     agree with the fit, mean and lowest over the case's frames. */
  function registrationFact(c) {
    var reg = c.registration;
    var dd = CW.$('c-registration');
    dd.classList.remove('warn');
    if (!reg || !reg.registered) { fact('c-registration', ''); return; }
    var ref = CW.t(reg.reference === 'scene' ? 'review.registration.scene' :
                   reg.reference === 'mosaic' ? 'review.registration.mosaic' : 'review.registration.first');
    var text = ref;
    if (typeof reg.mean_quality === 'number') {
      text += ' · ' + CW.t('review.registration.quality', {
        mean: Math.round(reg.mean_quality * 100), min: Math.round(reg.min_quality * 100), frames: reg.frames});
    }
    fact('c-registration', text);
    if (typeof reg.min_quality === 'number' && reg.min_quality < 0.3) dd.classList.add('warn');
  }

  /* The integrity problems with a code each (older services sent the sentences alone). */
  function problemItems(integ) {
    if (integ.items) return integ.items;
    return (integ.problems || []).map(function (p) { return {file: '', code: 'other', text: p}; });
  }

  /* The zones the case was judged by (its scene version, over that version's reference frame),
     not the camera's current scene, which may have been edited since. */
  function drawCaseScene(map, c) {
    CWZones.draw(map, c.scene, {names: c.zone_labels, reference: c.scene.reference_url || null, highlight: c.zone,
                               box: offenderBox(c), path: c.path});
    map.setAttribute('data-scene-version', String(c.scene.version));
  }

  function fill(c) {
    current = c;
    CW.$('case-empty').hidden = true;
    CW.$('case').hidden = false;
    var id = caseId(c);
    CW.$('case').setAttribute('data-case', String(id));
    CW.$('case').setAttribute('data-state', c.state);
    CW.$('c-rule').textContent = CW.label('rule', c.rule);
    CW.$('c-rule').className = 'rule-badge rule-' + c.rule;
    /* the offence as the evidence sheet names it (by the offender's class) and its code */
    var offence = c.offence || {};
    CW.$('c-title').textContent = CW.localName(offence.names, CW.label('rule', c.rule)) +
      (offence.code ? ' · ' + CW.t('review.offence_code', {code: offence.code}) : '');
    CW.$('c-id').textContent = CW.t('review.case_no', {id: id});
    CW.$('c-camera').textContent = camOf(c);
    var time = CW.$('c-time');
    time.textContent = CW.formatTime(when(c), tz(c), true);
    if (when(c)) time.setAttribute('datetime', when(c));
    var clock = clockSource(c);
    CW.$('c-clock').textContent = clock;
    CW.$('c-clock').hidden = !clock;
    CW.$('c-clock').setAttribute('data-source', (c.clock && c.clock.source) || '');
    CW.$('c-state').textContent = CW.label('state', c.state);
    CW.$('c-state').className = 'state-badge state-' + c.state;
    var integ = c.integrity || {};
    var ok = integ.ok !== false;
    var badge = CW.$('c-integrity');
    badge.textContent = ok ? CW.t('review.integrity.ok') : CW.t('review.integrity.bad');
    badge.className = 'integrity ' + (ok ? 'ok' : 'bad');
    var problems = CW.$('c-problems');
    problems.innerHTML = '';
    problemItems(integ).forEach(function (p) {
      var code = CW.has('integrity.' + p.code) ? p.code : 'other';
      problems.appendChild(CW.el('li', {'data-code': p.code, text: CW.t('integrity.' + code, {file: p.file || p.text})}));
    });
    CW.$('c-problems-panel').hidden = ok && !(integ.problems || []).length;
    CW.$('c-explanation').textContent = CW.explanation(c) || '—';
    CW.$('c-zone').textContent = CW.localName(c.zone_names, c.zone || '—');
    CW.$('c-place').textContent = CW.localName(c.place_names, c.place || '—');
    CW.$('c-object').textContent = c.object_class ? CW.label('object', c.object_class) : '—';
    CW.$('c-vtime').textContent = c.start_s !== undefined && c.start_s !== null ? CW.formatSeconds(c.start_s) + (c.end_s !== undefined && c.end_s !== null ? ' – ' + CW.formatSeconds(c.end_s) : '') : '—';
    CW.$('c-conf').textContent = c.confidence !== undefined && c.confidence !== null ? (c.confidence * 100).toFixed(0) + '%' : '—';
    flightFacts(c);
    registrationFact(c);
    CW.$('c-reason-panel').hidden = !c.reason && !c.reason_code;
    CW.$('c-reason').textContent = CW.rejectReason(c.reason_code, c.reason);
    /* the original clip with the overlay drawn from tracks.json (case_player.js) */
    CWPlayer.open(c, {clip: evidenceUrl(c, 'clip'), annotated: evidenceUrl(c, 'annotated'),
                      tracks: evidenceUrl(c, 'tracks'), render: c.annotated_render || null});
    CW.$('c-snapshot').src = evidenceUrl(c, 'snapshot');
    CW.$('c-crop').src = evidenceUrl(c, 'crop');
    CWSheet.show(c);  /* sheet_viewer.js: nothing for a case without a sheet */
    CWHistory.show(c);  /* case_history.js */
    CWPlate.show(c, function (res) {  /* plate.js */
      if (!current || caseId(current) !== id) return;
      /* the reviewer's own correction is the version they now see; a case decided meanwhile by
         someone else (another state) is shown as it is instead */
      if (res.state === current.state) { current.plate = res.plate; current.version = res.version; }
      else applyChanges([{id: id, state: res.state}]);
    });
    var pending = c.state === 'pending';
    CW.$('btn-approve').hidden = !pending;
    CW.$('btn-reject').hidden = !pending;
    CW.$('btn-publish').hidden = c.state !== 'approved';
    CW.$('btn-publish').disabled = !ok;
    CW.$('btn-publish').title = ok ? '' : CW.t('review.integrity.blocks');
    CW.$('btn-withdraw').hidden = c.state !== 'published' && c.state !== 'approved';
    CW.$('btn-reopen').hidden = c.state !== 'rejected';
    CW.$('btn-prev').disabled = index <= 0;
    CW.$('btn-next').disabled = index >= queue.length - 1;
    keepFocus();
    var map = CW.$('c-map');
    map.innerHTML = '';
    if (c.scene && c.scene.zones) drawCaseScene(map, c);
    else camera(camOf(c)).then(function (cam) {
      if (!cam || !current || caseId(current) !== id) return;
      var scene = cam.scene || cam;
      CWZones.draw(map, scene, {names: c.zone_labels, reference: cam.has_reference === false ? null : '/api/cameras/' + encodeURIComponent(camOf(c)) + '/reference', highlight: c.zone, box: offenderBox(c), path: c.path});
    });
  }

  function open(i) {
    if (i < 0 || i >= queue.length) return;
    index = i;
    Array.prototype.forEach.call(document.querySelectorAll('.queue-item'), function (n, k) {
      n.classList.toggle('active', k === i);
      if (k === i) n.scrollIntoView({block: 'nearest'});
    });
    var id = caseId(queue[i]);
    CW.api('GET', '/api/cases/' + encodeURIComponent(id)).then(function (full) {
      /* Still the case on show? (the queue may have been reloaded meanwhile, same index) */
      if (index >= 0 && queue[index] && caseId(queue[index]) === id) fill(full);
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  /* After a decision the case leaves a queue filtered on another state; open the one after it.
     `id` is the case the decision was sent for: the reviewer may have moved on (J/K, a click)
     while it was on its way, and then only that case's row changes; the case on show stays. */
  function decided(id, updated, messageKey) {
    CW.toast(CW.t(messageKey, {id: id}), 'ok');
    var newState = (updated && updated.state) || null;
    var at = -1;
    queue.forEach(function (c, i) { if (caseId(c) === id) at = i; });
    if (at < 0 || at !== index) {
      if (current && caseId(current) === id) current = null;
      var gone = at >= 0 && leaves(newState) ? queue.splice(at, 1)[0] : null;
      if (gone) {
        delete selected[id];
        total = Math.max(0, total - 1);
        if (at < index) index--;
      } else if (at >= 0) {
        queue[at] = Object.assign(queue[at], {state: newState});
      }
      if (window.CWRevisit && updated && (newState === 'approved' || newState === 'rejected')) CWRevisit.offerUndo(id, newState, gone, at);
      renderQueue();
      if (index >= 0) { CW.$('btn-prev').disabled = index <= 0; CW.$('btn-next').disabled = index >= queue.length - 1; }
      return;
    }
    current = null;  /* no key acts on the decided case while the next one loads */
    focusWasInCase = CW.$('case').contains(document.activeElement);
    if (leaves(newState)) {
      var summary = queue.splice(index, 1)[0];
      delete selected[id];
      total = Math.max(0, total - 1);
      var next = Math.min(index, queue.length - 1);
      if (window.CWRevisit && updated && (newState === 'approved' || newState === 'rejected')) CWRevisit.offerUndo(id, newState, summary, index);
      index = -1;
      renderQueue();
      if (next >= 0) open(next); else showEmpty();
      if (queue.length < total && next >= queue.length - 3) loadMore();
    } else {
      if (updated) queue[index] = Object.assign(queue[index], {state: newState});
      if (window.CWRevisit && (newState === 'approved' || newState === 'rejected')) CWRevisit.offerUndo(id, newState, null, index);
      renderQueue();
      if (index < queue.length - 1) open(index + 1); else open(index);
    }
  }

  /* Whether a case in `state` no longer belongs in the queue as filtered. */
  function leaves(state) {
    var stateFilter = CW.$('f-state').value;
    return !!(stateFilter && state && state !== stateFilter);
  }

  /* Cases changed elsewhere on the page (bulk decision, undo, reopen): update or drop them,
     or put one back at `at`, keeping the open case open where it still belongs. */
  function applyChanges(changes) {
    var openId = current ? caseId(current) : (index >= 0 && queue[index] ? caseId(queue[index]) : null);
    var openGone = false;
    changes.forEach(function (ch) {
      var at = -1;
      queue.forEach(function (c, i) { if (caseId(c) === ch.id) at = i; });
      var belongs = !leaves(ch.state);
      if (at >= 0 && !belongs) {
        queue.splice(at, 1);
        delete selected[ch.id];
        total = Math.max(0, total - 1);
        if (ch.id === openId) { openGone = true; index = Math.min(at, queue.length - 1); }
        else if (at < index) index--;
      } else if (at >= 0) {
        queue[at] = Object.assign(queue[at], ch.summary || {}, {state: ch.state});
      } else if (belongs && ch.summary) {
        var pos = Math.max(0, Math.min(ch.at === undefined ? queue.length : ch.at, queue.length));
        queue.splice(pos, 0, Object.assign(ch.summary, {state: ch.state}));
        known[ch.id] = true;
        total += 1;
        if (pos <= index) index++;
      }
    });
    renderQueue();
    if (openGone) { var n = index; index = -1; if (n >= 0) open(n); else showEmpty(); }
    else if (index >= 0) open(index);
    if (queue.length < total && index >= queue.length - 3) loadMore();
  }

  function openId(id) {
    queue.forEach(function (c, i) { if (caseId(c) === id) open(i); });
  }

  /* A decision carries the version of the case on show: one changed since by someone else (decided,
     undone, reopened, its plate corrected) is refused (409 case_changed) rather than decided unseen,
     and the page then shows the case as it is now, so the reviewer sees what changed. */
  function act(path, body, messageKey) {
    if (!current || busy) return;
    busy = true;
    var id = caseId(current);
    var sent = Object.assign({}, body || {});
    if (current.version) sent.version = current.version;
    CW.api('POST', '/api/cases/' + encodeURIComponent(id) + '/' + path, sent).then(function (res) {
      busy = false;
      decided(id, res && res.state ? res : {state: {approve: 'approved', reject: 'rejected', publish: 'published', withdraw: 'withdrawn'}[path]}, messageKey);
    }).catch(function (err) {
      busy = false;
      CW.toast(err.message, 'error');
      refreshChanged(id, err);
    });
  }

  /* After a decision refused because the case changed meanwhile: its row and, if it is on show,
     the case itself as the server has it now (a queue filtered on pending drops a decided one). */
  function refreshChanged(id, err) {
    var body = (err && err.body) || {};
    if (err && err.status === 409 && body.state && (body.code === 'case_changed' || body.code === 'invalid_transition')) {
      applyChanges([{id: id, state: body.state}]);
    }
  }

  function approve() { if (current && current.state === 'pending') act('approve', {}, 'review.approved'); }

  function openReject() {
    if (!current || current.state !== 'pending') return;
    var dlg = CW.$('reject-dialog');
    CW.$('reject-note').value = '';
    CW.$('reject-reason').selectedIndex = 0;
    dlg.showModal();
    CW.$('reject-reason').focus();
  }
  function confirmReject() {
    var sel = CW.$('reject-reason');
    var note = CW.$('reject-note').value.trim();
    if (sel.value === 'other' && !note) { CW.$('reject-note').focus(); CW.toast(CW.t('review.reject.need_note'), 'error'); return; }
    CW.$('reject-dialog').close();
    /* the reason's code (what the statistics count) and the note; the label is the page's to show */
    act('reject', {reason_code: sel.value, reason: note || null}, 'review.rejected');
  }

  function move(step) { if (queue.length) open(Math.max(0, Math.min(queue.length - 1, index + step))); }

  function exportSelected() {
    var ids = Object.keys(selected);
    if (!ids.length) return;
    CW.api('POST', '/api/cases/export', {ids: ids}, {raw: true}).then(function (res) {
      return res.blob().then(function (blob) {
        var a = CW.el('a', {href: URL.createObjectURL(blob), download: 'civicwatch-cases-' + ids.length + '.zip'});
        document.body.appendChild(a); a.click(); a.remove();
        CW.toast(CW.t('review.exported', {n: ids.length}), 'ok');
      });
    }).catch(function (err) { CW.toast(err.message, 'error'); });
  }

  document.addEventListener('keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var dlg = CW.$('reject-dialog');
    if (dlg.open) {
      /* Enter confirms from the reason list or the note; a button does what it says (Enter on
         Cancel cancels: taken as a confirmation, it rejected the case the reviewer kept) */
      if (ev.key === 'Enter' && (ev.target.tagName || '').toLowerCase() !== 'button') { ev.preventDefault(); confirmReject(); }
      return;
    }
    if (document.querySelector('dialog[open]')) return;
    var tag = (ev.target.tagName || '').toLowerCase();
    if (tag === 'input' && ev.target.type !== 'checkbox' || tag === 'textarea' || tag === 'select') return;
    var key = ev.key.toLowerCase();
    if (key === '/') { ev.preventDefault(); CW.$('f-plate').focus(); CW.$('f-plate').select(); return; }
    if (key === 'a') { ev.preventDefault(); approve(); }
    else if (key === 'r') { ev.preventDefault(); openReject(); }
    else if (key === 'j') { ev.preventDefault(); move(1); }
    else if (key === 'k') { ev.preventDefault(); move(-1); }
  });

  CW.$('btn-approve').addEventListener('click', approve);
  CW.$('btn-reject').addEventListener('click', openReject);
  CW.$('btn-next').addEventListener('click', function () { move(1); });
  CW.$('btn-prev').addEventListener('click', function () { move(-1); });
  CW.$('btn-publish').addEventListener('click', function () {  /* preview first: publish_preview.js */
    if (current) CWPublish.open(current, function (body) { act('publish', body, 'review.published'); });
  });
  CW.$('btn-withdraw').addEventListener('click', function () { CW.$('withdraw-note').value = ''; CW.$('withdraw-dialog').showModal(); });
  CW.$('withdraw-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var note = CW.$('withdraw-note').value.trim();
    if (!note) return;
    CW.$('withdraw-dialog').close();
    act('withdraw', {reason: note}, 'review.withdrawn');
  });
  CW.$('withdraw-cancel').addEventListener('click', function () { CW.$('withdraw-dialog').close(); });
  CW.$('reject-form').addEventListener('submit', function (ev) { ev.preventDefault(); confirmReject(); });
  CW.$('reject-cancel').addEventListener('click', function () { CW.$('reject-dialog').close(); });
  CW.$('export-selected').addEventListener('click', exportSelected);
  CW.$('select-all').addEventListener('change', function (ev) {
    selected = {};
    if (ev.target.checked) queue.forEach(function (c) { selected[caseId(c)] = true; });
    renderQueue();
  });
  CW.$('filters').addEventListener('change', function (ev) {
    if (ev.target.id === 'f-plate') return;  /* followed as typed (plateChanged) */
    selected = {}; CW.$('select-all').checked = false; loadQueue();
  });
  CW.$('f-plate').addEventListener('input', function () { plateChanged(false); });
  CW.$('f-plate').addEventListener('search', function () { plateChanged(true); });  /* Esc clears it */
  CW.$('f-plate').addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter') { ev.preventDefault(); plateChanged(true); }
  });
  CW.$('filters').addEventListener('submit', function (ev) { ev.preventDefault(); });  /* never a page load */

  document.addEventListener('cw:ready', function () {
    /* retired cameras too: their cases stay reviewable */
    CW.api('GET', '/api/cameras?retired=include').then(function (data) {
      var sel = CW.$('f-camera');
      CW.items(data, 'cameras').forEach(function (c) {
        var id = c.camera_id || c.camera || c.id;
        cameraZones[id] = c.timezone;
        sel.appendChild(CW.el('option', {value: id, text: id + (c.place ? ' · ' + c.place : '')}));
      });
    }).catch(function () {});
    loadQueue(new URLSearchParams(location.search).get('case') || undefined);  // /review?case=<id>: a job's link
    pollEvery();
  });
  CW.review = {queue: function () { return queue; }, current: function () { return current; },
               total: function () { return total; }, selected: function () { return Object.keys(selected); },
               clearSelection: function () { selected = {}; CW.$('select-all').checked = false; renderQueue(); },
               applyChanges: applyChanges, refreshChanged: refreshChanged, openId: openId, poll: poll, loadMore: loadMore, caseId: caseId};
})();
