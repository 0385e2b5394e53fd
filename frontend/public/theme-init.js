/* global window, document */
// Runs before the dashboard's first paint: the theme saved by the theme toggle (light, dark, or
// system), applied as the `dark` class on <html>. Kept in step with src/lib/theme.ts.
(function () {
  var saved = null;
  try {
    saved = localStorage.getItem('kiln.theme');
  } catch {
    /* storage blocked: follow the system */
  }
  var dark =
    saved === 'dark' ||
    ((saved === null || saved === 'system') &&
      window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.classList.toggle('dark', dark);
  document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
})();
