// panelgate dashboard: refreshes the live parts of a page. An element with
// data-live="URL" gets the HTML fragment at URL every data-every milliseconds,
// unless the reader has a part of it open (a <details>) or the page is hidden.
"use strict";
(function () {
  for (const el of document.querySelectorAll("[data-live]")) {
    const every = Number(el.dataset.every) || 1000;
    const tick = async function () {
      if (!document.hidden && !el.querySelector("details[open]")) {
        try {
          const r = await fetch(el.dataset.live, { credentials: "same-origin" });
          if (r.ok) {
            const html = await r.text();
            if (html !== el.innerHTML) el.innerHTML = html;
          }
        } catch (e) {
          // The server may be restarting; try again at the next tick.
        }
      }
      setTimeout(tick, every);
    };
    setTimeout(tick, every);
  }
  // Destructive actions ask first.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  }
})();
