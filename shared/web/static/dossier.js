// Small helpers every page may use; no framework. Pages work without them except uploads.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : "";

  // fetch() with the session's CSRF token and the page language; used by page scripts.
  window.dossierFetch = function (url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = Object.assign({ "X-CSRF-Token": csrf,
                                      "Accept-Language": document.documentElement.lang },
                                    options.headers || {});
    return fetch(url, options);
  };

  // <div data-refresh="/path/fragment" data-every="3">: replaced in place every few seconds
  // (the packet checklist while files are being inspected). Stops when the fragment says so.
  function refresh(el) {
    var every = parseFloat(el.getAttribute("data-every") || "3") * 1000;
    setTimeout(function tick() {
      window.dossierFetch(el.getAttribute("data-refresh"), { headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          el.innerHTML = html;
          if (!el.querySelector("[data-refresh-stop]")) setTimeout(tick, every);
        })
        .catch(function () { setTimeout(tick, every * 2); });
    }, every);
  }

  // The unread count next to "Inbox" in the header (one small request per page).
  function badge(link) {
    window.dossierFetch(link.getAttribute("data-unread-badge"), { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        var span = link.querySelector(".badge");
        span.textContent = "";
        if (!body.unread) return;
        // The digit for the eye, the sentence ("3 unread messages") for screen readers:
        // an aria-label on a plain span is ignored by some of them.
        var digit = document.createElement("span");
        digit.setAttribute("aria-hidden", "true");
        digit.textContent = String(body.unread);
        var words = document.createElement("span");
        words.className = "visually-hidden";
        words.textContent = body.label || String(body.unread);
        span.appendChild(digit);
        span.appendChild(words);
      })
      .catch(function () {});
  }

  // A table wider than the screen scrolls inside its .table-wrap. Keyboard users must be able
  // to reach and scroll it too, so a wrap that overflows becomes a focusable region named by
  // its table's caption; one that fits is left out of the tab order.
  function scrollables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        var caption = wrap.querySelector("caption");
        if (caption && !wrap.hasAttribute("aria-label")) {
          wrap.setAttribute("aria-label", caption.textContent.trim());
        }
      } else if (wrap.getAttribute("role") === "region") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
      }
    });
  }
  window.dossierScrollables = scrollables;
  window.addEventListener("resize", scrollables);

  // <button data-confirm="…">: asks before a consequential action.
  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) e.preventDefault();
  });

  // <button data-copy="#id" hidden>: copies that element's text (a one-time link); shown only
  // where a script runs, as without one the text is still there to select and copy by hand.
  function copier(button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy"));
      var status = button.parentNode.querySelector("[data-copy-status]");
      var text = source.value !== undefined ? source.value : source.textContent;
      var copied = function () {
        if (status) status.textContent = button.getAttribute("data-copied") || "";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text.trim()).then(copied, function () {
          source.select();
          if (document.execCommand("copy")) copied();
        });
      } else {
        source.select();
        if (document.execCommand("copy")) copied();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(copier);
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    document.querySelectorAll("[data-unread-badge]").forEach(badge);
    scrollables();
    var problem = document.querySelector("[data-problem]");
    if (problem) problem.focus();
  });
})();
