/* Atlas-Lotse in the widget's iframe: talks to widget.js on the host page and applies its theme colour.
 * Key presses inside a cross-origin frame never reach the host page, so Escape is passed on as a message. */
(function () {
  "use strict";
  var framed = window.parent !== window;

  // The host may pass its accent colour; it is used only if white text on it keeps AA contrast (4.5:1).
  // Also in widget.js: that copy runs in the host page, this one inside the iframe (separate documents).
  function luminance(hex) {
    var rgb = hex.length === 4 ? hex.slice(1).split("").map(function (c) { return c + c; }) : hex.slice(1).match(/../g);
    var channels = rgb.map(function (c) {
      var v = parseInt(c, 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  }

  var accent = new URLSearchParams(window.location.search).get("accent");
  if (accent && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(accent)) {
    if (1.05 / (luminance(accent) + 0.05) >= 4.5) {
      document.documentElement.style.setProperty("--atlas-accent", accent);
      document.documentElement.style.setProperty("--atlas-accent-dark", accent);
    } else if (window.console) {
      window.console.warn("Atlas-Lotse: Farbe " + accent + " hat zu wenig Kontrast zu weißer Schrift; Standardfarbe bleibt.");
    }
  }

  if (!framed) return;
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") window.parent.postMessage({ type: "atlas-lotse:close" }, "*");  // carries no data
  });
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.type !== "atlas-lotse:focus") return;
    var input = document.getElementById("message");
    if (input) input.focus();
  });
})();
