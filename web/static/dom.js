/* Atlas-Lotse page helpers shared by chat.js and merkliste.js (loaded first): building elements with text only
 * (never HTML), and calling the JSON API with one error shape. */
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // Calls the API and resolves with the parsed body; rejects with the server's German message (its one error
  // shape: {ok, status, error, errors}) or, without one, with `fallback`.
  function requestJSON(url, body, fallback) {
    var options = { headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (r) {
      return r.json().then(function (parsed) { return { ok: r.ok, body: parsed }; }, function () { return { ok: false, body: {} }; });
    }).then(function (res) {
      if (!res.ok) throw new Error((res.body && res.body.error) || fallback);
      return res.body;
    });
  }

  window.AtlasDom = { el: el, requestJSON: requestJSON };
})();
