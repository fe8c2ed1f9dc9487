/* Public exposure screen. Cycles through published cases, showing only the redacted media, and
   picks up new ones (and drops withdrawn ones) by polling. The media is fetched and kept in
   memory, so a screen whose server goes away for a while keeps showing what it has, but only for a
   while: a case withdrawn meanwhile would stay in front of the street for as long as the network
   was down. Once no poll has confirmed the cases for ``screen_offline_max_s`` (the page's
   data-offline-max, seconds), the screen forgets them (records and media) and shows a neutral
   notice instead, until a poll answers again.
   The screen is paired once: the display token is typed into the form this page shows when it is
   not authorised, and the server answers with an HttpOnly, SameSite=Strict cookie. The token is
   never in the address bar, a link or localStorage, so no access log, history or script keeps it. */
(function () {
  'use strict';
  /* CW_DISPLAY_POLL_MS lets a test poll faster; screens use the default. */
  var POLL_MS = window.CW_DISPLAY_POLL_MS || 10000, IMAGE_MS = 8000, MIN_VIDEO_MS = 6000, MAX_VIDEO_MS = 30000;
  /* A poll not answered by then is given up (and counts as failed): a request hung on a dead
     connection (a network that dropped without closing it) otherwise held back every later poll
     until the network stack gave up on it, minutes or hours after the network was back.
     CW_DISPLAY_POLL_TIMEOUT_MS lets a test shorten it. Media downloads have none: on a slow link a
     clip takes its time. */
  var POLL_TIMEOUT_MS = window.CW_DISPLAY_POLL_TIMEOUT_MS || 30000;
  var root = CW.$('display');
  var screen = root.getAttribute('data-screen');
  var cases = [];          // public case records, newest last
  var media = {};          // mediaKey(case) -> {url, kind}
  var loading = {};        // mediaKey(case) -> the fetch of its media under way
  var pos = -1;
  var online = null;
  var advanceTimer = null;
  var pollTimer = null;
  /* CW_DISPLAY_OFFLINE_MS lets a test shorten it; screens use the setting. */
  var OFFLINE_MAX_MS = window.CW_DISPLAY_OFFLINE_MS ||
    (parseFloat(root.getAttribute('data-offline-max')) || 300) * 1000;
  var confirmedAt = null;  // when a poll last confirmed the cases shown: [Date.now(), performance.now()]
  var reloading = false;   // the page of a new build is being checked before the reload
  /* The newest poll started. Pairing starts one while the timer's may be under way; an answer
     that comes in after a newer poll was started is stale (it could put back a case the newer
     answer took off) and is dropped. */
  var pollSeq = 0;
  var RELOADED_FOR = 'cw_display_reloaded_for', RELOADED_AT = 'cw_display_reloaded_at';
  /* At most one reload in this long: app servers of two builds behind one address (a rolling
     upgrade, one server left behind) would otherwise have the screen reload at every poll. */
  var RELOAD_GAP_MS = window.CW_DISPLAY_RELOAD_GAP_MS || 600000;

  (function forgetOldTokens() {
    /* Earlier versions took ?token= and kept it in localStorage: take both away, use neither. */
    try { localStorage.removeItem('cw_display_token'); } catch (e) { /* storage disabled */ }
    var params = new URLSearchParams(location.search);
    if (params.has('token')) {
      params.delete('token');
      var rest = params.toString();
      history.replaceState(null, '', location.pathname + (rest ? '?' + rest : ''));
    }
  })();

  /* X-CivicWatch-Screen-Page: served as the screen this browser is paired as, even where someone
     left a sign-in session in the kiosk's browser (it made the screen a reviewer's, showing every
     screen's cases); without a pairing the header changes nothing. */
  function authed(path, signal) {
    return fetch(path, {headers: {'Accept': 'application/json', 'X-CivicWatch-Screen-Page': '1'},
                        credentials: 'same-origin', cache: 'no-store', signal: signal});
  }

  function setStatus(state) {
    online = state;
    CW.$('d-dot').className = 'dot ' + state;
    /* offline with the cases forgotten: not "showing saved cases" */
    var unconfirmed = state === 'offline' && root.hasAttribute('data-unconfirmed');
    CW.$('d-status').textContent = CW.t(unconfirmed ? 'display.status.offline_cleared' : 'display.status.' + state);
  }

  function caseId(c) { return c.number; }
  /* a public case record the screen can show: its number and its media links */
  function usable(c) {
    return !!c && typeof c.number === 'string' && !!c.media && typeof c.media === 'object';
  }

  /* A case's media by their URLs, which name the files' version (?v=): media made again under the
     same public number (a changed redaction policy) are other media, fetched anew, never the old
     ones kept in memory. */
  function mediaKey(c) {
    var m = c.media || {};
    return caseId(c) + ' ' + (m.video || '') + ' ' + (m.image || '');
  }

  function wanted(key) {
    return cases.some(function (c) { return mediaKey(c) === key; });
  }

  /* The screen shows the redacted clip, else the redacted still, never the redacted evidence
     sheet (media.sheet in the feed): the sheet is a page of four pictures under small caption
     text, made to be read up close by an officer or printed; on a street screen seen from metres
     away for a few seconds it is unreadable, and its pictures at a quarter size each show the
     offender too small. The sheet stays available to other clients at /media/sheet. */
  function fetchMedia(c) {
    var key = mediaKey(c);
    if (media[key]) return Promise.resolve(media[key]);
    /* Once per case: on a slow link a fetch lasts more than a poll, and each poll (and each turn on
       the stage) started another download of every clip not yet in, until none of them came in. */
    if (loading[key]) return loading[key];
    var kinds = c.media_kind === 'image' ? ['image'] : ['video', 'image'];
    function tryKind(i) {
      if (i >= kinds.length) return Promise.reject(new Error('no media'));
      var url = c.media && c.media[kinds[i]];
      if (!url) return tryKind(i + 1);
      return authed(url).then(function (res) {
        if (!res.ok) return tryKind(i + 1);
        return res.blob().then(function (blob) {
          /* withdrawn, or made again, while it came in: not kept */
          if (!wanted(key)) throw new Error('no longer in the feed');
          media[key] = {url: URL.createObjectURL(blob), kind: kinds[i]};
          return media[key];
        });
      });
    }
    var fetching = loading[key] = tryKind(0);
    function done() { if (loading[key] === fetching) delete loading[key]; }
    fetching.then(done, done);
    return fetching;
  }

  /* A screen runs for months on the page it loaded once, so a fix to this script reached the
     screens in the street only when someone reloaded each by hand. The feed names the build of the
     pages the service serves now (header X-CivicWatch-Page-Build); a page of another build is
     loaded again, but only once the service is seen serving the new page (a reload into an error
     page would leave the screen on it), and once per build (a page that still comes back of the
     old build, through a cache in between, is not reloaded again for it), and not again within
     RELOAD_GAP_MS of the last reload. */
  function reloadForBuild(build) {
    var mine = root.getAttribute('data-build');
    if (!build || !mine || build === mine || reloading) return;
    try {
      if (sessionStorage.getItem(RELOADED_FOR) === build) return;
      if (Date.now() - (parseFloat(sessionStorage.getItem(RELOADED_AT)) || 0) < RELOAD_GAP_MS) return;
    } catch (e) { return; }  // no storage: no reload (it could not tell a loop)
    reloading = true;
    fetch(location.href, {credentials: 'same-origin', cache: 'no-store'}).then(function (res) {
      if (!res.ok) throw new Error('http ' + res.status);
      return res.text();
    }).then(function (html) {
      if (html.indexOf('data-build="' + build + '"') < 0) throw new Error('not the new build yet');
      sessionStorage.setItem(RELOADED_FOR, build);
      sessionStorage.setItem(RELOADED_AT, String(Date.now()));
      location.reload();
    }).catch(function () { reloading = false; });
  }

  function poll() {
    /* Always the full list: it is small, and it also tells which cases were withdrawn. */
    var q = new URLSearchParams({screen: screen});
    var mine = ++pollSeq;
    function stale() { return mine !== pollSeq; }
    var giveUp = new AbortController();
    var giveUpTimer = setTimeout(function () { giveUp.abort(); }, POLL_TIMEOUT_MS);
    authed('/api/public/cases?' + q.toString(), giveUp.signal).then(function (res) {
      if (res.status === 401 || res.status === 403) { unauthorized(res.status); return null; }
      if (!res.ok) throw new Error('http ' + res.status);
      reloadForBuild(res.headers.get('X-CivicWatch-Page-Build'));
      return res.json();
    }).then(function (data) {
      if (!data || stale()) return;
      /* Only a feed confirms the cases: an answer of another shape (a proxy's or a portal's JSON
         with 200) is a failed poll, not "online", and never keeps the cases on show. */
      if (!Array.isArray(data.items) || !data.items.every(usable)) throw new Error('not a feed');
      setStatus('online');
      confirmedAt = [Date.now(), performance.now()];
      if (root.hasAttribute('data-unconfirmed')) {
        root.removeAttribute('data-unconfirmed');
        CW.$('d-notice').hidden = true;
      }
      CW.$('d-pair').hidden = true;
      root.removeAttribute('data-unauthorized');
      var incoming = data.items;
      var known = {};
      cases.forEach(function (c) { known[caseId(c)] = true; });
      var fresh = {}, current = {};
      incoming.forEach(function (c) { fresh[caseId(c)] = c; current[mediaKey(c)] = true; });
      var shown = pos >= 0 && cases[pos] ? cases[pos] : null;
      /* the cases still in the feed, as it gives them now (their media's URLs, their place) */
      cases = cases.filter(function (c) { return fresh[caseId(c)]; }).map(function (c) { return fresh[caseId(c)]; });
      /* A case gone from the feed (withdrawn), or whose media were made again, leaves the stage now,
         not when its turn would end, and its (old) media leave memory. */
      if (shown && !current[mediaKey(shown)]) { pos = -1; clearTimeout(advanceTimer); CW.$('d-media').innerHTML = ''; }
      else if (shown) { cases.forEach(function (c, i) { if (caseId(c) === caseId(shown)) pos = i; }); }
      Object.keys(media).forEach(function (key) {
        if (!current[key]) { URL.revokeObjectURL(media[key].url); delete media[key]; }
      });
      incoming.forEach(function (c) {
        if (!known[caseId(c)]) cases.push(c);
        fetchMedia(c).catch(function () {});
      });
      if (cases.length && pos < 0) advance();
      render();
    }).catch(function () {
      if (stale()) return;
      setStatus('offline');
      checkConfirmed();
    }).then(function () {
      clearTimeout(giveUpTimer);
      if (stale()) return;  // the newer poll sets the next one
      clearTimeout(pollTimer);
      pollTimer = setTimeout(poll, POLL_MS);
    });
  }

  /* Cases no poll has confirmed for OFFLINE_MAX_MS leave the screen: any of them may have been
     withdrawn since. Checked every second, not only when a poll fails: a request can hang for
     minutes before it fails. The time since is the longer of the wall clock's and the monotonic
     clock's: a wall clock set back (a screen's clock corrected by an hour, by a day) kept the
     cases on show that much longer, and the monotonic clock alone stands still while the machine
     sleeps. */
  /* Every case the screen holds leaves it: records, media in memory, what the stage shows. */
  function forgetCases() {
    cases = []; pos = -1; clearTimeout(advanceTimer);
    Object.keys(media).forEach(function (key) { URL.revokeObjectURL(media[key].url); delete media[key]; });
    CW.$('d-media').innerHTML = '';
    CW.$('d-info').hidden = true;
    ['d-rule', 'd-place', 'd-time', 'd-case', 'd-explain', 'd-counter'].forEach(function (id) { CW.$(id).textContent = ''; });
    CW.$('d-empty').hidden = true;
    root.removeAttribute('data-showing');
  }

  function checkConfirmed() {
    if (root.hasAttribute('data-unconfirmed') || root.hasAttribute('data-unauthorized')) return;
    if (confirmedAt === null ||
        Math.max(Date.now() - confirmedAt[0], performance.now() - confirmedAt[1]) <= OFFLINE_MAX_MS) return;
    forgetCases();
    root.setAttribute('data-unconfirmed', '');
    CW.$('d-notice').hidden = false;
    setStatus('offline');
  }

  /* Not "no cases": the screen is not authorised. Everything it holds goes (the media in memory
     too: they stayed until a poll answered again), and the pairing form appears (403: the token
     is another screen's). */
  function unauthorized(status) {
    setStatus('unauthorized');
    forgetCases();
    CW.$('d-pair').hidden = false;
    CW.$('d-pair-title').textContent = CW.t(status === 403 ? 'display.unauthorized.other' : 'display.unauthorized');
    root.setAttribute('data-unauthorized', String(status));
  }

  CW.$('d-pair').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var input = CW.$('d-pair-token');
    CW.$('d-pair-error').hidden = true;
    fetch('/api/public/pair', {method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
      body: JSON.stringify({token: input.value.trim(), screen: screen})
    }).then(function (res) {
      input.value = '';
      if (!res.ok) { CW.$('d-pair-error').textContent = CW.t('display.pair.failed'); CW.$('d-pair-error').hidden = false; return; }
      setStatus('connecting');
      poll();
    }).catch(function () { setStatus('offline'); });
  });

  function render() {
    if (root.hasAttribute('data-unauthorized') || root.hasAttribute('data-unconfirmed')) return;
    CW.$('d-empty').hidden = cases.length > 0;
    CW.$('d-info').hidden = cases.length === 0;
  }

  function show(c) {
    var stage = CW.$('d-media');
    var id = caseId(c);
    CW.$('d-rule').textContent = CW.label('rule', c.rule);
    CW.$('d-rule').className = 'display-rule rule-' + c.rule;
    CW.$('d-place').textContent = CW.publicPlace(c);
    CW.$('d-time').textContent = CW.publicTime(c);
    CW.$('d-case').textContent = id;
    CW.$('d-explain').textContent = CW.t('display.offence.' + c.rule);
    CW.$('d-marker').hidden = !c.offender_marked;
    CW.$('d-counter').textContent = (pos + 1) + ' / ' + cases.length;
    root.setAttribute('data-showing', String(id));
    var key = mediaKey(c);
    var m = media[key];
    stage.innerHTML = '';
    if (!m) {
      stage.appendChild(CW.el('div', {class: 'display-loading', text: CW.t('display.loading')}));
      fetchMedia(c).then(function () { if (cases[pos] && mediaKey(cases[pos]) === key) show(cases[pos]); })
        .catch(function () {});
      schedule(IMAGE_MS);
      return;
    }
    if (m.kind === 'video') {
      var v = CW.el('video', {src: m.url, autoplay: true, muted: true, playsinline: true, 'data-case': String(id)});
      v.muted = true;
      var started = Date.now();
      v.addEventListener('ended', function () { schedule(Math.max(0, MIN_VIDEO_MS - (Date.now() - started))); });
      v.addEventListener('error', function () { schedule(IMAGE_MS); });
      stage.appendChild(v);
      schedule(MAX_VIDEO_MS);
      var p = v.play(); if (p && p.catch) p.catch(function () {});
    } else {
      stage.appendChild(CW.el('img', {src: m.url, alt: CW.label('rule', c.rule), 'data-case': String(id)}));
      schedule(IMAGE_MS);
    }
  }

  function schedule(ms) {
    clearTimeout(advanceTimer);
    advanceTimer = setTimeout(advance, ms);
  }

  function advance() {
    render();
    if (!cases.length) { pos = -1; CW.$('d-media').innerHTML = ''; schedule(2000); return; }
    pos = (pos + 1) % cases.length;
    show(cases[pos]);
  }

  /* The clock belongs to no camera: the installation's zone (the ``timezone`` setting). It ticks
     just after each second begins: a 1 s interval started mid-second showed the last second for
     most of every second, a clock visibly behind the ones beside the screen. */
  function tick() {
    CW.$('d-clock').textContent = CW.formatTime(new Date(), root.getAttribute('data-zone') || 'Asia/Shanghai');
    setTimeout(tick, 1000 - Date.now() % 1000 + 15);
  }

  document.addEventListener('cw:ready', function () {
    setStatus('connecting');
    tick(); setInterval(checkConfirmed, 1000);
    render();
    poll();
  });
  CW.display = {cases: function () { return cases; }, media: function () { return Object.keys(media); }};
})();
