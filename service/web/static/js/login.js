/* Sign in, then go where the person came from (a local path only) or to their role's start page. */
(function () {
  'use strict';
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
      var next = new URLSearchParams(location.search).get('next');
      if (next && next.charAt(0) === '/' && next.charAt(1) !== '/' && next.indexOf('/login') !== 0) location.href = next;
      else location.href = CW.startPage(me.role);
    }).catch(function (err) {
      button.disabled = false;
      CW.showError('login-error', err.status === 401 ? {message: CW.t('login.failed')} : err);
    });
  });
})();
