/* Atlas-Lotse widget for host pages. One tag is enough:
 *   <script src="https://atlas.example/widget.js" data-position="bottom-right" defer></script>
 * Optional: data-target="#id" (render inline into that element instead of a launcher), data-accent="#0b5394"
 * (theme colour of launcher, panel and chat; --atlas-lotse-accent in the host CSS colours launcher and title bar only),
 * data-label="…" (launcher text).
 * The chat runs in an iframe from the Atlas-Lotse origin; it is loaded only when the planner opens it. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) {
    var candidates = document.querySelectorAll("script[src$='/widget.js']");
    script = candidates[candidates.length - 1];
  }
  if (!script || script.dataset.atlasLotseReady) return;
  script.dataset.atlasLotseReady = "1";
  var options = script.dataset;
  var origin = new URL(script.src, window.location.href).origin;
  var frameTitle = "Atlas-Lotse – Chat mit dem automatischen Assistenten";
  var uid = Math.random().toString(36).slice(2, 8);

  // Also in embed.js: this copy runs in the host page, that one inside the iframe (separate documents).
  function luminance(hex) {
    var rgb = hex.length === 4 ? hex.slice(1).split("").map(function (c) { return c + c; }) : hex.slice(1).match(/../g);
    var channels = rgb.map(function (c) {
      var v = parseInt(c, 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  }

  // A colour is used only if white text on it keeps AA contrast (4.5:1); otherwise the default stays.
  var accent = options.accent && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(options.accent) ? options.accent : null;
  if (accent && 1.05 / (luminance(accent) + 0.05) < 4.5) {
    if (window.console) window.console.warn("Atlas-Lotse: data-accent " + accent + " hat zu wenig Kontrast; Standardfarbe bleibt.");
    accent = null;
  }

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = origin + "/static/widget.css";
  document.head.appendChild(css);

  function makeFrame(className) {
    var frame = document.createElement("iframe");
    frame.src = origin + "/embed" + (accent ? "?accent=" + encodeURIComponent(accent) : "");
    frame.title = frameTitle;
    frame.className = className;
    frame.referrerPolicy = "no-referrer";
    // The chat needs scripts, its own origin (sessionStorage), forms, downloads, printing and new tabs for sources;
    // it may not navigate the host page.
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-downloads allow-modals allow-popups allow-popups-to-escape-sandbox");
    return frame;
  }

  if (options.target) {
    var target = document.querySelector(options.target);
    if (!target) {
      if (window.console) window.console.warn("Atlas-Lotse: data-target " + options.target + " nicht gefunden.");
      return;
    }
    target.appendChild(makeFrame("atlas-lotse-inline"));
    return;
  }

  var position = /^(bottom|top)-(left|right)$/.test(options.position || "") ? options.position : "bottom-right";
  var root = document.createElement("div");
  root.className = "atlas-lotse atlas-lotse--" + position;
  if (accent) root.style.setProperty("--atlas-lotse-accent", accent);

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "atlas-lotse-launcher";
  launcher.textContent = options.label || "Atlas-Lotse fragen";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "atlas-lotse-panel-" + uid);

  var panel = document.createElement("div");
  panel.className = "atlas-lotse-panel";
  panel.id = "atlas-lotse-panel-" + uid;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "atlas-lotse-title-" + uid);
  panel.hidden = true;

  var head = document.createElement("div");
  head.className = "atlas-lotse-head";
  var title = document.createElement("p");
  title.className = "atlas-lotse-title";
  title.id = "atlas-lotse-title-" + uid;
  title.textContent = "Atlas-Lotse – automatischer Assistent";
  var close = document.createElement("button");
  close.type = "button";
  close.className = "atlas-lotse-close";
  close.textContent = "Schließen";
  head.appendChild(title);
  head.appendChild(close);
  panel.appendChild(head);
  // Launcher first, so Tab goes from it into the open chat; the CSS puts the panel visually above it.
  root.appendChild(launcher);
  root.appendChild(panel);

  var frame = null;
  var loaded = false;

  function focusChat() {
    frame.focus();
    frame.contentWindow.postMessage({ type: "atlas-lotse:focus" }, origin);
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (!frame) {
      frame = makeFrame("atlas-lotse-frame");
      frame.addEventListener("load", function () { loaded = true; if (!panel.hidden) focusChat(); });
      panel.appendChild(frame);
    } else if (loaded) {
      focusChat();
    }
  }

  function hide() {
    if (panel.hidden) return;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else hide(); });
  close.addEventListener("click", hide);
  root.addEventListener("keydown", function (event) { if (event.key === "Escape") hide(); });
  window.addEventListener("message", function (event) {
    if (!frame || event.origin !== origin || event.source !== frame.contentWindow) return;
    if (event.data && event.data.type === "atlas-lotse:close") hide();
  });

  function mount() { document.body.appendChild(root); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
