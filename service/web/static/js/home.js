/* The start page: send the signed-in person to their role's page (a file, not inline script: CSP). */
document.addEventListener('cw:ready', function () { CW.goHome(); });
