// extci: progressive enhancement only. Every page works without this file.
(function () {
  "use strict";

  // Running durations tick this often; a test may set window.extciTickMs before this file
  // runs to watch many ticks in a short time.
  var TICK_MS = typeof window.extciTickMs === "number" && window.extciTickMs > 0
    ? window.extciTickMs : 1000;

  var timeFormat = { year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit" };

  function each(root, selector, fn) {
    Array.prototype.forEach.call(root.querySelectorAll(selector), fn);
  }

  // Times arrive in UTC with the ISO value on hover; show them in the viewer's zone.
  function localTimes(root) {
    each(root, "time[datetime]", function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        var text = when.toLocaleString(undefined, timeFormat);
        if (el.textContent !== text) { el.textContent = text; }
      }
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

  // Durations of running builds; none of them sits inside a live region.
  function tick(root) {
    each(root || document, "[data-since]", function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (isNaN(since)) { return; }
      var text = humanDuration((Date.now() - since) / 1000);
      if (el.textContent !== text) { el.textContent = text; }
    });
  }

  // ---- Dialogs -------------------------------------------------------------------------

  // Where focus starts in a dialog: a field with an error, else the element marked autofocus
  // (Cancel, in a confirmation), else the first control.
  function initialFocus(dialog) {
    var target = dialog.querySelector("[aria-invalid=true]") ||
      dialog.querySelector("[autofocus]") ||
      dialog.querySelector("input:not([type=hidden]), button, select, a[href]");
    if (!target) { return; }
    target.focus();
    if (target.readOnly && target.select) { target.select(); }
  }

  function openDialog(dialog) {
    if (!dialog.open) { dialog.showModal(); }
    initialFocus(dialog);
  }

  // Links that lead to a confirmation page open the same form in a modal dialog instead:
  // with this file they are buttons (Space works too, below).
  function dialogOpeners() {
    each(document, "a[data-dialog]", function (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog"));
      if (!dialog || typeof dialog.showModal !== "function") { return; }
      opener.setAttribute("role", "button");
      opener.setAttribute("aria-haspopup", "dialog");
    });
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-dialog]");
    if (!opener) { return; }
    var dialog = document.getElementById(opener.getAttribute("data-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") { return; }
    event.preventDefault();
    openDialog(dialog);
  });

  // A link that looks like a button answers Space as a button does.
  document.addEventListener("keydown", function (event) {
    if (event.key !== " " || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var link = event.target;
    if (!link.matches || !link.matches("a.button[href], a[role=button][href]")) { return; }
    event.preventDefault();
    if (!event.repeat) { link.click(); }
  });

  // The new key, shown once: it opens on the key (selected, ready to copy); closing it
  // before the key was copied asks first, and Escape at that question goes back to the key.
  function keyShownOnce(dialog) {
    var copied = false;
    var prompt = dialog.querySelector("[data-discard-prompt]");
    var closeRow = dialog.querySelector("[data-close-row]");
    var field = dialog.querySelector("input[readonly]");
    dialog.addEventListener("copy", function () { copied = true; });
    dialog.addEventListener("extci:copied", function () { copied = true; });

    function showKey() {
      prompt.hidden = true;
      closeRow.hidden = false;
      if (field) { field.focus(); field.select(); }
    }
    function ask() {
      prompt.hidden = false;
      closeRow.hidden = true;
      prompt.querySelector("[data-back-to-key]").focus();
    }
    prompt.querySelector("[data-back-to-key]").addEventListener("click", showKey);

    return function mayClose() {
      var answer = dialog.returnValue;
      dialog.returnValue = "";
      if (copied || answer === "discard") { return true; }
      var asking = !prompt.hidden;
      dialog.showModal();
      if (asking) { showKey(); } else { ask(); }
      return false;
    };
  }

  // A dialog the server rendered open (the new key, a form with errors) becomes modal.
  function modalOnLoad() {
    each(document, "dialog[data-modal-on-load]", function (dialog) {
      if (typeof dialog.showModal !== "function") { return; }
      // Rendered open for browsers without JavaScript; removing the attribute (unlike
      // close()) fires no late "close" event.
      dialog.removeAttribute("open");
      var mayClose = dialog.hasAttribute("data-key-once") ? keyShownOnce(dialog) : null;
      dialog.addEventListener("close", function () {
        if (dialog.open) { return; }
        if (mayClose && !mayClose()) { return; }
        var back = document.getElementById(dialog.getAttribute("data-return-focus") || "");
        if (dialog.hasAttribute("data-forget")) { dialog.remove(); }  // the secret leaves the page
        if (back) { back.focus(); }
      });
      openDialog(dialog);
    });
  }

  function copyButtons() {
    each(document, "[data-copy]", function (button) {
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
            function () {
              say("Copied to the clipboard.");
              button.firstChild.textContent = "Copied";
              button.dispatchEvent(new CustomEvent("extci:copied", { bubbles: true }));
            },
            function () { say("Press Ctrl+C (⌘C) to copy the selected key."); });
        } else {
          say("Press Ctrl+C (⌘C) to copy the selected key.");
        }
      });
    });
  }

  // ---- Where the person is after a page load -------------------------------------------

  // After a POST answered with a page (data-url) or a redirect with ?done=, the address bar
  // names the page itself: a reload neither re-sends the form nor repeats the notice.
  function cleanUrl() {
    if (!window.history.replaceState) { return; }
    var target = document.body.getAttribute("data-url");
    if (!target) {
      var url = new URL(window.location.href);
      if (!url.searchParams.has("done")) { return; }
      url.searchParams.delete("done");
      target = url.pathname + url.search + url.hash;
    }
    window.history.replaceState(null, "", target);
  }

  // Focus goes where the feedback is: a field with an error, else the notice of what was
  // just done (a dialog opened on load places focus itself).
  function placeFocus() {
    if (document.querySelector("dialog[open]")) { return; }
    var active = document.activeElement;
    if (active && active !== document.body) { return; }  // autofocus, or the person was quicker
    var invalid = document.querySelector("main [aria-invalid=true], main .error-box[tabindex]");
    if (invalid) { invalid.focus(); return; }
    var notice = document.getElementById("notice");
    if (notice) { notice.focus(); }
  }

  // Inline validation messages next to the field, in the words the server would use.
  function inlineValidation() {
    each(document, "form[data-validate]", function (form) {
      var inputs = form.querySelectorAll("input:not([type=hidden]):not([type=radio])");
      function check(input) {
        var id = (input.name || input.id) + "-error";  // the id the server gives it too
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
      Array.prototype.forEach.call(inputs, function (input) {
        // Leaving a field checks it once it was changed (a server's error stays till then).
        input.addEventListener("blur", function () {
          if (input.value && input.value !== input.defaultValue) { check(input); }
        });
        input.addEventListener("input", function () {
          if (input.getAttribute("aria-invalid")) { check(input); }
        });
      });
      form.addEventListener("submit", function (event) {
        var first = null;
        Array.prototype.forEach.call(inputs, function (input) {
          if (!check(input) && !first) { first = input; }
        });
        if (first) { event.preventDefault(); first.focus(); }
      });
    });
  }

  // ---- Live updates ----------------------------------------------------------------------

  // The new fragment is patched into the page node by node: elements that stay (a row with
  // the same pipeline, a link) are kept, so focus and scroll position survive an update.
  function keyOf(node) {
    if (node.nodeType !== 1) { return null; }
    return node.getAttribute("data-pipeline") || node.getAttribute("data-key") || node.id || null;
  }

  function syncAttributes(from, to) {
    Array.prototype.slice.call(from.attributes).forEach(function (a) {
      if (!to.hasAttribute(a.name)) { from.removeAttribute(a.name); }
    });
    Array.prototype.forEach.call(to.attributes, function (a) {
      if (from.getAttribute(a.name) !== a.value) { from.setAttribute(a.name, a.value); }
    });
  }

  function morph(from, to) {
    if (from.nodeType !== 1) {
      if (from.nodeValue !== to.nodeValue) { from.nodeValue = to.nodeValue; }
      return;
    }
    syncAttributes(from, to);
    morphChildren(from, to);
  }

  function morphChildren(parent, next) {
    var keyed = {};
    Array.prototype.forEach.call(parent.childNodes, function (child) {
      var key = keyOf(child);
      if (key) { keyed[child.nodeName + "#" + key] = child; }
    });
    var wantedNodes = Array.prototype.slice.call(next.childNodes);
    var stays = {};
    wantedNodes.forEach(function (wanted) {
      var key = keyOf(wanted);
      if (key) { stays[wanted.nodeName + "#" + key] = true; }
    });
    function keeps(node) { var key = keyOf(node); return key && stays[node.nodeName + "#" + key]; }
    var cursor = parent.firstChild;
    wantedNodes.forEach(function (wanted) {
      var key = keyOf(wanted), match = null;
      if (key) {
        match = keyed[wanted.nodeName + "#" + key] || null;
      } else if (cursor && !keyOf(cursor) && cursor.nodeType === wanted.nodeType &&
                 cursor.nodeName === wanted.nodeName) {
        match = cursor;
      }
      if (match && match !== cursor) {
        // Drop what stands before the match (nothing later wants it) rather than move the
        // match: moving a node takes focus out of it.
        var between = [], node = cursor;
        while (node && node !== match) { between.push(node); node = node.nextSibling; }
        if (node === match && !between.some(keeps)) {
          between.forEach(function (gone) { parent.removeChild(gone); });
          cursor = match;
        }
      }
      if (match) {
        if (match === cursor) { cursor = cursor.nextSibling; } else { parent.insertBefore(match, cursor); }
        morph(match, wanted);
      } else {
        parent.insertBefore(wanted, cursor);
      }
    });
    while (cursor) {
      var gone = cursor;
      cursor = cursor.nextSibling;
      parent.removeChild(gone);
    }
  }

  // Builds (rows, or the build page's head) by pipeline: {status, version}.
  function builds(root) {
    var found = {};
    each(root, "[data-pipeline][data-status]", function (el) {
      found[el.getAttribute("data-pipeline")] = {
        status: el.getAttribute("data-status"), version: el.getAttribute("data-version") || ""
      };
    });
    return found;
  }

  // What changed, in words: only a build that started or changed status, never a tick.
  function changes(before, after) {
    var said = [];
    Object.keys(after).forEach(function (id) {
      var was = before[id], now = after[id];
      if (was && was.status === now.status) { return; }
      var name = "Build " + (now.version || id);
      if (now.status === "BUILDING") { said.push(name + " started"); }
      else if (!was || was.status === "BUILDING") { said.push(name + " ended " + now.status); }
      else { said.push(name + " is now " + now.status); }
    });
    return said.join(". ");
  }

  function live() {
    var url = document.body.getAttribute("data-live");
    if (!url || !window.EventSource) { return; }
    var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live-src]"));
    if (!regions.length) { return; }
    var status = document.getElementById("live-status");
    var source = new EventSource(url);
    var opened = false;

    function apply(region, html) {
      var next = document.createElement("div");
      next.innerHTML = html;
      localTimes(next);  // in the page's own words already: only real differences change
      tick(next);
      var before = builds(region);
      var focused = region.contains(document.activeElement) ? document.activeElement : null;
      morphChildren(region, next);
      if (focused && !focused.isConnected) {
        var fallback = document.getElementById(region.getAttribute("data-focus-fallback") || "");
        if (fallback) { fallback.focus(); }
      }
      var said = changes(before, builds(region));
      if (said && status && status.textContent !== said) { status.textContent = said; }
      document.body.setAttribute("data-live-updated", String(Date.now()));
    }

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
        apply(region, html);
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
    setInterval(tick, TICK_MS);
    cleanUrl();
    dialogOpeners();
    copyButtons();
    inlineValidation();
    live();
    // Chrome moves focus back to the body as a document finishes loading: focus placed
    // before "load" is lost (the new key's dialog opened with nothing focused). So after.
    if (document.readyState === "complete") {
      settle();
    } else {
      window.addEventListener("load", settle);
    }
  }

  function settle() {
    modalOnLoad();
    placeFocus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
