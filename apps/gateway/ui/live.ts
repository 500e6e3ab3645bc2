/**
 * The dashboard's one script, served as `/ui/live.js` (same origin, `script-src 'self'`, no
 * build step): a page whose `<main>` names an event stream (`data-events`, a session-authorised
 * `/ui/…/events` route) opens it with EventSource and, on each event, fetches the page again and
 * swaps in its `<main>` — the page updates without a reload or a navigation. When the fresh page
 * no longer names a stream (the run or batch has ended) the stream is closed. Focus stays on the
 * control that had it when that control is still there.
 */
export const LIVE_JS = `'use strict';
(function () {
  var main = document.getElementById('live');
  if (!main || !main.dataset.events || !window.EventSource || !window.fetch) return;
  var source = null, timer = null, busy = false, again = false;
  var NAMES = ['run.started', 'step.started', 'step.finished', 'run.waiting', 'run.finished', 'batch.finished', 'log'];
  function focusKey(el) {
    if (!el || el === document.body || !main.contains(el)) return null;
    if (el.id) return '#' + CSS.escape(el.id);
    var f = el.closest('form');
    return f ? 'form[action="' + CSS.escape(f.getAttribute('action') || '') + '"] ' + el.tagName.toLowerCase() : null;
  }
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' }, cache: 'no-store' })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var next = new DOMParser().parseFromString(html, 'text/html').getElementById('live');
        if (!next) return;
        var key = focusKey(document.activeElement);
        main.replaceChildren.apply(main, Array.prototype.slice.call(next.childNodes).map(function (n) { return document.importNode(n, true); }));
        main.dataset.updated = String(Date.now());
        if (key) { var back = main.querySelector(key); if (back) back.focus(); }
        if (!next.dataset.events) stop();
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; schedule(); } });
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(refresh, 200); }
  function stop() {
    if (source) source.close();
    source = null;
    delete main.dataset.events;
  }
  source = new EventSource(main.dataset.events);
  NAMES.forEach(function (n) { source.addEventListener(n, schedule); });
  source.onerror = function () { if (source && source.readyState === EventSource.CLOSED) stop(); else schedule(); };
})();
`;
