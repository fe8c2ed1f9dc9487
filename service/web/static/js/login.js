/* Sign in, then go where the person came from (a local path only) or to their role's start page. */
(function () {
  'use strict';
  /* `next` as a path of this site, else null. Judged by where the browser would go, not by its first
     characters: `/\evil.example` and `/<tab>/evil.example` begin with one slash, yet a browser reads
     both as `//evil.example`, another site. */
  function localTarget(next) {
    if (!next || next.charAt(0) !== '/') return null;
    var url;
    try { url = new URL(next, location.origin); } catch (e) { return null; }
    if (url.origin !== location.origin || url.pathname.indexOf('/login') === 0) return null;
    return url.pathname + url.search + url.hash;
  }

  var form = CW.$('login-form');
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var username = CW.$('username').value.trim(), password = CW.$('password').value;
    if (!username || !password) { CW.showError('login-error', {message: CW.t('login.missing')}); return; }
    CW.showError('login-error', null);
    var button = CW.$('login-submit');
    button.disabled = true;
    CW.api('POST', '/api/auth/login', {username: username, password: password}, {noRedirect: true}).then(function () {
      return CW.api('GET', '/api/me', null, {noRedirect: true});
    }).then(function (me) {
      location.href = localTarget(new URLSearchParams(location.search).get('next')) || CW.startPage(me.role);
    }).catch(function (err) {
      button.disabled = false;
      CW.showError('login-error', err.status === 401 ? {message: CW.t('login.failed')} : err);
    });
  });
})();
