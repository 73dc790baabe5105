// Aftercare staff app: small progressive enhancements, no build step.
// Every page works without this script; it adds the live preview on the
// enroll form and the progress of a running import.
"use strict";
(function () {
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }

  // Live preview: a form with data-preview="URL" posts its fields to URL
  // as they change and shows the returned HTML fragment in #preview.
  function livePreview(form) {
    var target = document.getElementById(form.dataset.previewTarget || "preview");
    if (!target) return;
    var timer = null, seq = 0;
    function refresh() {
      var mine = ++seq;
      var body = new URLSearchParams(new FormData(form));
      fetch(form.dataset.preview, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (r) { return r.text(); }).then(function (html) {
        if (mine === seq) { target.innerHTML = html; target.setAttribute("aria-busy", "false"); echo(); }
      }).catch(function () {
        if (mine === seq) target.setAttribute("aria-busy", "false");
      });
    }
    // The one-line summary above the submit button (on a phone the
    // timeline is below the form) follows each new preview.
    function echo() {
      var src = target.querySelector("#preview-echo-src"), dst = document.getElementById("preview-echo");
      if (src && dst) dst.innerHTML = src.innerHTML;
    }
    function schedule() {
      target.setAttribute("aria-busy", "true");
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    refresh();
  }

  // Progress: an element with data-progress="URL" polls URL (JSON
  // {"done": n, "total": n, "finished": bool, "report": "URL"}) every second.
  function progress(el) {
    var bar = el.querySelector("progress"), label = el.querySelector("[data-progress-label]");
    function poll() {
      fetch(el.dataset.progress, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); }).then(function (p) {
          if (bar) { bar.max = p.total || 1; bar.value = p.done; }
          if (label) label.textContent = p.done + " of " + (p.total || "?") + " rows";
          if (p.finished) { window.location = p.report || window.location.href; return; }
          setTimeout(poll, 1000);
        }).catch(function () { setTimeout(poll, 3000); });
    }
    poll();
  }

  // Confirm before destructive buttons: <button data-confirm="...">.
  function confirmations() {
    document.addEventListener("submit", function (e) {
      var b = e.submitter;
      if (b && b.dataset.confirm && !window.confirm(b.dataset.confirm)) e.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-preview]").forEach(livePreview);
    document.querySelectorAll("[data-progress]").forEach(progress);
    confirmations();
  });
})();
