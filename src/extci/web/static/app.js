// extci: progressive enhancement only. Every page works without this file.
(function () {
  "use strict";

  var timeFormat = { year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit" };

  // Times arrive in UTC with the ISO value on hover; show them in the viewer's zone.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when.getTime())) { el.textContent = when.toLocaleString(undefined, timeFormat); }
    });
  }

  function humanDuration(seconds) {
    var s = Math.max(0, Math.round(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    function two(n) { return n < 10 ? "0" + n : String(n); }
    if (h) { return h + " h " + two(m) + " min"; }
    if (m) { return m + " min " + two(r) + " s"; }
    return r + " s";
  }

  function tick() {
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(since)) { el.textContent = humanDuration((Date.now() - since) / 1000); }
    });
  }

  // Links that lead to a confirmation page open the same form in a modal dialog instead.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-dialog]");
    if (!opener) { return; }
    var dialog = document.getElementById(opener.getAttribute("data-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") { return; }
    event.preventDefault();
    dialog.showModal();
  });

  // A dialog the server rendered open (the new key, a form with errors) becomes modal.
  function modalOnLoad() {
    document.querySelectorAll("dialog[data-modal-on-load]").forEach(function (dialog) {
      if (typeof dialog.showModal !== "function") { return; }
      if (dialog.open) { dialog.close(); }
      dialog.showModal();
      var clean = dialog.getAttribute("data-clean-url");
      if (clean && window.history.replaceState) {
        // A reload must not re-send the form (and can never show the key again).
        window.history.replaceState(null, "", clean);
      }
      dialog.addEventListener("close", function () {
        if (dialog.open) { return; }  // the close() above, before showModal(), reports late
        var back = document.getElementById(dialog.getAttribute("data-return-focus") || "");
        if (dialog.hasAttribute("data-forget")) { dialog.remove(); }  // the secret leaves the page
        if (back) { back.focus(); }
      });
    });
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) { return; }
      button.hidden = false;
      var status = button.closest("dialog, section, body").querySelector("[data-copy-status]");
      function say(text) { if (status) { status.textContent = text; } }
      button.addEventListener("click", function () {
        field.focus();
        field.select();
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(field.value).then(
            function () { say("Copied to the clipboard."); button.textContent = "Copied"; },
            function () { say("Press Ctrl+C (⌘C) to copy the selected key."); });
        } else {
          say("Press Ctrl+C (⌘C) to copy the selected key.");
        }
      });
    });
  }

  // Inline validation messages next to the field, in the words the server would use.
  function inlineValidation() {
    document.querySelectorAll("form[data-validate]").forEach(function (form) {
      var inputs = form.querySelectorAll("input:not([type=hidden]):not([type=radio])");
      function check(input) {
        var id = input.id + "-error";
        var message = document.getElementById(id);
        if (input.validity.valid) {
          if (message) { message.remove(); }
          input.removeAttribute("aria-invalid");
          input.removeAttribute("aria-describedby");
          return true;
        }
        var text = input.validity.valueMissing ? "This field is required."
          : (input.getAttribute("data-message") || input.validationMessage);
        if (!message) {
          message = document.createElement("p");
          message.className = "field-error";
          message.id = id;
          input.insertAdjacentElement("afterend", message);
        }
        message.textContent = text;
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", id);
        return false;
      }
      inputs.forEach(function (input) {
        input.addEventListener("blur", function () { if (input.value) { check(input); } });
        input.addEventListener("input", function () {
          if (input.getAttribute("aria-invalid")) { check(input); }
        });
      });
      form.addEventListener("submit", function (event) {
        var first = null;
        inputs.forEach(function (input) { if (!check(input) && !first) { first = input; } });
        if (first) { event.preventDefault(); first.focus(); }
      });
    });
  }

  // Live updates: the server nudges over server-sent events; the page re-reads its part.
  function live() {
    var url = document.body.getAttribute("data-live");
    if (!url || !window.EventSource) { return; }
    var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live-src]"));
    if (!regions.length) { return; }
    var source = new EventSource(url);
    var opened = false;

    function refresh(region) {
      var pending = region.__pending;
      region.__again = !!pending;
      if (pending) { return; }
      region.__pending = fetch(region.getAttribute("data-live-src"), {
        credentials: "same-origin", headers: { "Accept": "text/html" }
      }).then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      }).then(function (html) {
        region.innerHTML = html;
        localTimes(region);
        tick();
        document.body.setAttribute("data-live-updated", String(Date.now()));
      }).catch(function () { /* the next nudge tries again */ }).then(function () {
        region.__pending = null;
        if (region.__again) { region.__again = false; refresh(region); }
      });
    }

    // "ready": the server hears every change from now on (across processes, too).
    source.addEventListener("ready", function () {
      document.body.setAttribute("data-live-state", "connected");
      if (opened) { regions.forEach(refresh); }  // reconnected: catch up on what we missed
      opened = true;
    });
    source.addEventListener("error", function () {
      document.body.setAttribute("data-live-state", "reconnecting");
    });
    source.addEventListener("build", function (event) {
      var change = {};
      try { change = JSON.parse(event.data); } catch (e) { return; }
      regions.forEach(function (region) {
        var only = region.getAttribute("data-live-pipeline");
        if (!only || only === change.pipelineId) { refresh(region); }
      });
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function start() {
    localTimes(document);
    tick();
    setInterval(tick, 1000);
    modalOnLoad();
    copyButtons();
    inlineValidation();
    live();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
