/* Shared helpers for every page: messages, API calls, the signed-in person, times, toasts.
   No framework and no CDN: the service must run on a police LAN without internet. */
(function () {
  'use strict';
  var CW = window.CW || (window.CW = {});
  /* The page's language, name, roles and messages: a JSON data block, not inline script, so the
     Content-Security-Policy can forbid inline script altogether. */
  var boot = document.getElementById('cw-boot');
  if (boot) {
    var data = JSON.parse(boot.textContent);
    Object.keys(data).forEach(function (k) { CW[k] = data[k]; });
  }
  var messages = CW.messages || {};

  /* Message lookup with {name} placeholders; the same catalogue the server rendered with. */
  CW.t = function (key, params) {
    var text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    if (params) {
      Object.keys(params).forEach(function (name) {
        text = text.split('{' + name + '}').join(String(params[name]));
      });
    }
    return text;
  };
  CW.has = function (key) { return Object.prototype.hasOwnProperty.call(messages, key); };
  /* A camera save's warnings (``notices``: a code and its values), each said in the page's language
     as a toast; one this page has no sentence for keeps the API's English words. */
  CW.cameraNotices = function (answer) {
    ((answer && answer.notices) || []).forEach(function (n) {
      var key = 'camera.notice.' + n.code;
      CW.toast(CW.has(key) ? CW.t(key, n.params) : n.text, 'error');
    });
  };

  /* A rule / state / role name in the page language, falling back to the raw value. */
  CW.label = function (prefix, value) {
    if (value === null || value === undefined || value === '') return '';
    var key = prefix + '.' + value;
    return CW.has(key) ? CW.t(key) : String(value);
  };

  /* A rejection's reason as pages show it: the label of its code in the page language, then the
     reviewer's note. A reason written as "label: note" before the code was stored (or by a client
     that sends text only) carries its label already, in the language of the page it was written on:
     that label (of this code, in any language: CW.reject_labels) is not shown again. */
  CW.rejectReason = function (code, text) {
    var note = text || '';
    if (!code) return note;
    var label = CW.label('reject', code);
    [label].concat((CW.reject_labels || {})[code] || []).some(function (written) {
      if (note === written) note = '';
      else if (note.indexOf(written + ': ') === 0) note = note.slice(written.length + 2);
      else return false;
      return true;
    });
    return note ? label + ': ' + note : label;
  };

  /* A display name the API gives per language ({"zh-CN": ..., "en": ...}: a zone's label, a
     scene's place) in the page language; `fallback` when there is none. */
  CW.localName = function (names, fallback) {
    var text = names && (names[CW.lang] || names['zh-CN'] || names.en);
    return text || (fallback === undefined || fallback === null ? '' : String(fallback));
  };

  /* Where a published case happened, as the street screen says it: the place and, when the scene
     labels it, the zone, by their display names (a zone's key is internal: never shown). */
  CW.publicPlace = function (r) {
    return [CW.localName(r.place_names, r.place), CW.localName(r.zone_names)].filter(Boolean).join(' · ') || '—';
  };

  /* When a published case happened, as screens and the publish preview say it: the offence's time
     in its camera's zone; for footage without a wall clock, that it is not known (and when the case
     was published), never the publication time as if it were the offence's. */
  CW.publicTime = function (r) {
    /* A record without a zone still has the offence's local time as the case wrote it (with its
       own offset): shown as written, not converted to Shanghai's time as if the camera were there. */
    var local = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(r.start_time_local || '');
    if (!r.timezone && local) return local[1] + ' ' + local[2];
    var zone = r.timezone || 'Asia/Shanghai';
    if (r.start_time) return CW.formatTime(r.start_time, zone);
    return r.published_at ? CW.t('display.time_unknown', {time: CW.formatTime(r.published_at, zone)}) : '—';
  };

  /* A case's explanation sentence in the page language (the rules write English and Chinese). */
  CW.explanation = function (c) {
    if (!c) return '';
    if (CW.lang && CW.lang.indexOf('zh') === 0 && c.explanation_zh) return c.explanation_zh;
    return c.explanation || '';
  };

  CW.el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') node.textContent = v;
        else if (k === 'class') node.className = v;
        else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : v);
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  };
  CW.$ = function (id) { return document.getElementById(id); };

  /* Turn an API error body into a sentence for the person: a known code is translated,
     otherwise the server's own message is shown as it is. */
  CW.errorMessage = function (status, body) {
    var detail = body && (body.detail !== undefined ? body.detail : body.error);
    var code = body && body.code;
    var text = null;
    if (detail && typeof detail === 'object' && !Array.isArray(detail)) {
      code = code || detail.code;
      text = detail.message || detail.msg || null;
    } else if (Array.isArray(detail)) {
      code = code || 'validation';
      text = detail.map(function (d) { return (d.loc ? d.loc.slice(1).join('.') + ': ' : '') + d.msg; }).join('; ');
    } else if (typeof detail === 'string') {
      text = detail;
    }
    if (code && CW.has('error.' + code)) {
      var translated = CW.t('error.' + code);
      return text && code === 'validation' ? translated + ' (' + text + ')' : translated;
    }
    /* The API's messages are English and have no code yet: outside English, lead with the
       translated meaning of the status and keep the server's words for the details. */
    if (text && CW.lang !== 'en' && CW.has('error.http_' + status)) return CW.t('error.http_' + status) + '（' + text + '）';
    if (text) return text;
    if (CW.has('error.http_' + status)) return CW.t('error.http_' + status);
    return CW.t('error.generic', {status: status});
  };

  function ApiError(status, body) {
    this.status = status;
    this.body = body;
    this.message = CW.errorMessage(status, body);
  }
  ApiError.prototype = Object.create(Error.prototype);
  CW.ApiError = ApiError;

  /* JSON API call with the session cookie. 401 on a page that needs a login goes to /login. */
  CW.api = function (method, path, body, opts) {
    opts = opts || {};
    var init = {method: method, credentials: 'same-origin', headers: {'Accept': 'application/json'}};
    if (opts.headers) Object.keys(opts.headers).forEach(function (k) { init.headers[k] = opts.headers[k]; });
    if (body instanceof FormData || body instanceof Blob || body instanceof ArrayBuffer) {
      init.body = body;
    } else if (body !== undefined && body !== null) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (opts.signal) init.signal = opts.signal;
    return fetch(path, init).then(function (res) {
      if (opts.raw && res.ok) return res;
      var type = res.headers.get('content-type') || '';
      var parse = type.indexOf('json') >= 0 ? res.json().catch(function () { return null; }) : res.text().then(function (t) { return t ? {detail: t} : null; });
      return parse.then(function (data) {
        if (!res.ok) {
          if (res.status === 401 && !opts.noRedirect) CW.toLogin();
          throw new ApiError(res.status, data);
        }
        return data;
      });
    });
  };

  CW.toLogin = function () {
    if (CW.page === 'login') return;
    var next = location.pathname + location.search;
    location.href = '/login?next=' + encodeURIComponent(next);
  };

  CW.startPage = function (role) {
    return {admin: '/admin', reviewer: '/review', operator: '/upload', display: '/display/default'}[role] || '/login';
  };
  CW.goHome = function () {
    CW.api('GET', '/api/me', null, {noRedirect: true}).then(function (me) {
      location.replace(CW.startPage(me.role));
    }).catch(function () { location.replace('/login'); });
  };

  /* Items of a list answer, whatever envelope the API uses ({items: [...]}, {cases: [...]}, [...]). */
  CW.items = function (data, key) {
    if (Array.isArray(data)) return data;
    if (!data) return [];
    if (key && Array.isArray(data[key])) return data[key];
    for (var k in data) if (Array.isArray(data[k])) return data[k];
    return [];
  };

  /* Times are shown in the camera's zone (Asia/Shanghai unless the scene says otherwise), never
     the browser's: a reviewer in another city must see the local time of the offence. Written as
     the evidence sheet, the flight report and the exports write them, in every language
     (2024-05-01 08:00:12; not the English locale's 05/01/2024, which reads as January 5 to many),
     and with the zone also its UTC offset, so an hour that a DST change repeats is not ambiguous:
     2024-10-27 02:30:00 (UTC+01:00, Europe/Rome). */
  function two(n) { return (n < 10 ? '0' : '') + n; }
  function offsetText(minutes) {
    var sign = minutes < 0 ? '-' : '+', m = Math.abs(minutes);
    return 'UTC' + sign + two(Math.floor(m / 60)) + ':' + two(m % 60);
  }
  CW.formatTime = function (value, timeZone, withZone) {
    if (!value) return '—';
    var date = value instanceof Date ? value : new Date(value);
    if (isNaN(date.getTime())) return String(value);
    var zone = timeZone || 'Asia/Shanghai';
    var opts = {year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone: zone};
    var parts;
    try { parts = new Intl.DateTimeFormat('en-US', opts).formatToParts(date); }
    catch (e) { zone = 'Asia/Shanghai'; opts.timeZone = zone; parts = new Intl.DateTimeFormat('en-US', opts).formatToParts(date); }
    var p = {};
    parts.forEach(function (x) { p[x.type] = x.value; });
    var hour = p.hour === '24' ? '00' : p.hour;
    var text = p.year + '-' + p.month + '-' + p.day + ' ' + hour + ':' + p.minute + ':' + p.second;
    if (!withZone) return text;
    /* the offset: the wall clock read as if it were UTC, less the instant (to the second) */
    var wall = Date.UTC(+p.year, +p.month - 1, +p.day, +hour, +p.minute, +p.second);
    var offset = Math.round((wall - Math.floor(date.getTime() / 1000) * 1000) / 60000);
    return text + ' (' + offsetText(offset) + ', ' + zone + ')';
  };
  /* "2024-05-01T08:00" typed on a page means that time at the camera, not in the browser: the
     same wall clock with the camera zone's UTC offset at that moment. The offset is the one in
     force at the instant meant, not at the wall clock read as UTC (on a DST change day that is
     another offset for some hours). A time the clocks skip (02:30 when they jump from 02:00 to
     03:00) gets the offset from before the jump; a time they repeat, the first of the two. */
  function zoneOffsetMin(ms, timeZone) {
    var fmt = new Intl.DateTimeFormat('en-US', {timeZone: timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric'});
    var p = {};
    fmt.formatToParts(new Date(ms)).forEach(function (x) { p[x.type] = x.value; });
    var asZone = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
    return Math.round((asZone - Math.floor(ms / 1000) * 1000) / 60000);
  }
  CW.zonedIso = function (local, timeZone) {
    if (!local) return null;
    var parts = local.split(/[-T:]/).map(Number);
    var wall = Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3] || 0, parts[4] || 0, parts[5] || 0);
    /* the offsets in force a day either side of the wall clock: the instant is wall - offset for
       one of them; prefer the earlier offset when both fit (a repeated hour), the one before a
       jump when neither does (a skipped hour) */
    var before = zoneOffsetMin(wall - 86400000, timeZone), after = zoneOffsetMin(wall + 86400000, timeZone);
    var offsetMin = before;
    if (zoneOffsetMin(wall - before * 60000, timeZone) !== before && zoneOffsetMin(wall - after * 60000, timeZone) === after) offsetMin = after;
    var sign = offsetMin >= 0 ? '+' : '-', abs = Math.abs(offsetMin);
    var base = local.length === 16 ? local + ':00' : local;
    return base + sign + two(Math.floor(abs / 60)) + ':' + two(abs % 60);
  };
  CW.formatSeconds = function (s) {
    if (s === null || s === undefined || isNaN(s)) return '—';
    var m = Math.floor(s / 60), sec = s - m * 60;
    return m + ':' + (sec < 10 ? '0' : '') + sec.toFixed(1);
  };
  /* Binary units, named as such: 8 * 1024^3 bytes is "8.0 GiB" (the server's limits are set in GiB). */
  CW.formatBytes = function (n) {
    if (!n && n !== 0) return '';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + ' ' + units[i];
  };

  /* Say a sentence to screen readers through the page's always-rendered live regions: errors in the
     assertive one (role=alert), the rest politely. The region is emptied first and filled a moment
     later, so the same sentence twice in a row (two failed saves) is said twice. */
  var announceTimer = null;
  CW.announce = function (text, urgent) {
    var region = CW.$(urgent ? 'announce-alert' : 'announce-status');
    var other = CW.$(urgent ? 'announce-status' : 'announce-alert');
    if (!region) return;
    if (other) other.textContent = '';
    region.textContent = '';
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () { region.textContent = text; }, 60);
  };

  var toastTimer = null;
  CW.toast = function (text, kind) {
    var box = CW.$('toast');
    if (!box) return;
    box.textContent = text;
    box.className = 'toast' + (kind ? ' toast-' + kind : '');
    box.hidden = false;
    CW.announce(text, kind === 'error');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 3500);
  };

  CW.showError = function (id, err) {
    var node = CW.$(id);
    if (!node) return;
    if (!err) { node.hidden = true; node.textContent = ''; return; }
    node.textContent = err.message || String(err);
    node.hidden = false;
  };

  /* Pages other than login and display need a signed-in person; nav shows only what the role may use. */
  function applyRole(me) {
    CW.me = me;
    var name = CW.$('whoami-name'), role = CW.$('whoami-role'), who = CW.$('whoami'), out = CW.$('logout');
    if (name) name.textContent = me.username;
    if (role) { role.textContent = CW.label('role', me.role); role.className = 'role-badge role-' + me.role; }
    if (who) who.hidden = false;
    if (out) out.hidden = false;
    document.querySelectorAll('[data-roles]').forEach(function (node) {
      var allowed = node.getAttribute('data-roles').split(' ');
      if (allowed.indexOf(me.role) < 0) node.remove(); else node.hidden = false;
    });
    if (CW.roles && CW.roles.length && CW.roles.indexOf(me.role) < 0) {
      location.replace(CW.startPage(me.role));
      return false;
    }
    return true;
  }

  document.addEventListener('DOMContentLoaded', function () {
    var out = CW.$('logout');
    if (out) out.addEventListener('click', function () {
      CW.api('POST', '/api/auth/logout', {}, {noRedirect: true}).catch(function () {}).then(function () { location.href = '/login'; });
    });
    if (CW.page === 'login' || CW.page === 'display' || CW.page === 'notfound') {
      document.dispatchEvent(new CustomEvent('cw:ready', {detail: null}));
      return;
    }
    if (CW.page === 'home') { document.dispatchEvent(new CustomEvent('cw:ready', {detail: null})); return; }
    CW.api('GET', '/api/me').then(function (me) {
      if (applyRole(me)) document.dispatchEvent(new CustomEvent('cw:ready', {detail: me}));
    }).catch(function (err) { if (err.status !== 401) CW.toast(err.message, 'error'); });
  });
})();
