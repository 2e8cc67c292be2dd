/* Atlas-Lotse chat page: posts to /api/chat and renders answers and result cards.
 * Everything from the server is inserted with textContent, never as HTML. No storage, no cookies. */
(function () {
  "use strict";
  var form = document.getElementById("ask");
  var input = document.getElementById("message");
  var log = document.getElementById("log");
  var errorBox = document.getElementById("error");
  var sendButton = document.getElementById("send");
  var template = document.getElementById("result-template");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function addMessage(who, role, text) {
    var item = el("li", "msg msg-" + role);
    item.appendChild(el("p", "who", who));
    String(text).split("\n").forEach(function (line) {
      if (line.trim()) item.appendChild(el("p", "text", line));
    });
    return item;
  }

  function fieldList(title, values) {
    var wrap = el("div", "field");
    wrap.appendChild(el("h4", null, title));
    var list = el("ul");
    values.forEach(function (value) { list.appendChild(el("li", null, value)); });
    wrap.appendChild(list);
    return wrap;
  }

  function loadDetails(card, id) {
    var target = card.querySelector(".card-full");
    if (target.dataset.loaded) return;
    target.dataset.loaded = "1";
    target.textContent = "Lade Details …";
    fetch("/api/solutions/" + encodeURIComponent(id), { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        target.textContent = "";
        if (!res.ok) { target.textContent = res.body.error || "Details konnten nicht geladen werden."; return; }
        var s = res.body;
        s.description.split(/\n\s*\n/).forEach(function (p) { target.appendChild(el("p", null, p)); });
        target.appendChild(fieldList("Planerische Herausforderungen", s.challenges));
        if (s.effects_intended.length) target.appendChild(fieldList("Beabsichtigte Raumwirkungen", s.effects_intended));
        if (s.effects_unintended.length) target.appendChild(fieldList("Mögliche Nebenwirkungen", s.effects_unintended));
        if (s.indicators.length) target.appendChild(fieldList("Indikatoren", s.indicators));
        target.appendChild(el("p", "note", "Wirkungen und Indikatoren sind Einschätzungen der Redaktion."));
        target.appendChild(el("p", null, "Programm: " + s.program + " · Bundesland: " + s.state + " · Stand: " + s.updated));
        var sources = el("div", "field");
        sources.appendChild(el("h4", null, "Quellen"));
        var list = el("ul");
        s.sources.forEach(function (url) {
          var li = el("li");
          var a = el("a", null, url);
          a.href = url;
          a.rel = "noopener noreferrer";
          li.appendChild(a);
          list.appendChild(li);
        });
        sources.appendChild(list);
        target.appendChild(sources);
      })
      .catch(function () { target.textContent = "Details konnten nicht geladen werden."; delete target.dataset.loaded; });
  }

  function renderCards(results) {
    var list = el("ol", "cards");
    results.forEach(function (r) {
      var card = template.content.firstElementChild.cloneNode(true);
      card.querySelector(".card-title").textContent = r.title;
      card.querySelector(".card-place").textContent = r.municipality + " (" + r.state + ")";
      card.querySelector(".card-status").textContent = r.status_label;
      var badges = card.querySelector(".card-badges");
      r.space_type_labels.forEach(function (label) { badges.appendChild(el("span", "badge badge-space", label)); });
      r.theme_labels.forEach(function (label) { badges.appendChild(el("span", "badge badge-theme", label)); });
      card.querySelector(".card-summary").textContent = r.summary;
      var why = card.querySelector(".card-why");
      r.explanation.split("\n").forEach(function (line, i) {
        if (i) why.appendChild(document.createElement("br"));
        why.appendChild(document.createTextNode(line));
      });
      var details = card.querySelector(".card-details");
      details.addEventListener("toggle", function () { if (details.open) loadDetails(card, r.id); });
      list.appendChild(card);
    });
    return list;
  }

  function selectedSpaceType() {
    var checked = form.querySelector("input[name=space_type]:checked");
    return checked && checked.value ? checked.value : null;
  }

  function send() {
    var text = input.value.trim();
    errorBox.hidden = true;
    if (!text) {
      errorBox.textContent = "Bitte beschreiben Sie Ihre Frage oder Herausforderung in ein paar Worten.";
      errorBox.hidden = false;
      input.focus();
      return;
    }
    log.appendChild(addMessage("Sie:", "user", text));
    input.value = "";
    sendButton.disabled = true;
    form.setAttribute("aria-busy", "true");
    fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ message: text, space_type: selectedSpaceType() })
    })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) throw new Error(res.body.error || "Die Anfrage ist fehlgeschlagen.");
        // Build the whole answer first, then add it once, so screen readers announce it complete.
        var answer = addMessage("Assistent:", "assistant", res.body.message);
        if (res.body.results.length) answer.appendChild(renderCards(res.body.results));
        log.appendChild(answer);
      })
      .catch(function (err) {
        errorBox.textContent = err.message || "Die Anfrage ist fehlgeschlagen.";
        errorBox.hidden = false;
      })
      .then(function () {
        sendButton.disabled = false;
        form.removeAttribute("aria-busy");
        input.focus();
      });
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); send(); }
  });
})();
