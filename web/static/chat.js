/* Atlas-Lotse chat: posts to /api/chat and renders answers, result cards, quick replies and feedback.
 * Everything from the server is inserted with textContent, never as HTML. The conversation state the
 * server returns lives in a variable only (gone with the page); no cookies, no persistent storage. */
(function () {
  "use strict";
  var form = document.getElementById("ask");
  if (!form) return;
  var input = document.getElementById("message");
  var log = document.getElementById("messages");
  var errorBox = document.getElementById("error");
  var sendButton = document.getElementById("send");
  var restartButton = document.getElementById("restart");
  var cardTemplate = document.getElementById("result-template");
  var feedbackTemplate = document.getElementById("feedback-template");
  var welcome = log.firstElementChild ? log.firstElementChild.cloneNode(true) : null;
  var merkliste = window.AtlasMerkliste || null;
  var state = null;  // what the last answer returned; sent back with the next message
  var busy = false;
  var counter = 0;

  var el = window.AtlasDom.el;
  var requestJSON = window.AtlasDom.requestJSON;

  function list(value) {
    return Array.isArray(value) ? value.map(String) : [];
  }

  function appendLines(parent, text, className) {
    String(text || "").split("\n").forEach(function (line) {
      if (line.trim()) parent.appendChild(el("p", className, line));
    });
  }

  function message(who, role, text) {
    var item = el("li", "msg msg-" + role);
    item.appendChild(el("p", "who", who));
    appendLines(item, text, "text");
    return item;
  }

  // The answer as plain, checked values (suggestions as {label, message}, a state object or null).
  // Answers from before the conversation state (issue 5) carry suggestions as plain strings and no state;
  // a cached page or an older replica behind the balancer may still send them.
  function normalize(body) {
    var suggestions = (Array.isArray(body.suggestions) ? body.suggestions : []).map(function (s) {
      if (typeof s === "string") return { label: s, message: s };
      s = s || {};
      return { label: String(s.label || ""), message: String(s.message || "") };
    }).filter(function (s) { return s.label && s.message; });
    return {
      message: String(body.message || ""),
      results: Array.isArray(body.results) ? body.results : [],
      suggestions: suggestions,
      state: body.state && typeof body.state === "object" ? body.state : null
    };
  }

  function fieldList(title, values) {
    var wrap = el("div", "field");
    wrap.appendChild(el("h4", null, title));
    var ul = el("ul");
    values.forEach(function (value) { ul.appendChild(el("li", null, value)); });
    wrap.appendChild(ul);
    return wrap;
  }

  function sourceItem(url) {
    var li = el("li");
    // Only web addresses become links; anything else (e.g. "javascript:") stays plain text.
    if (/^https?:\/\//i.test(url)) {
      var a = el("a", null, url);
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.appendChild(el("span", "visually-hidden", " (öffnet in neuem Fenster)"));
      li.appendChild(a);
    } else {
      li.textContent = url;
    }
    return li;
  }

  function showDetails(target, s) {
    target.textContent = "";
    String(s.description || "").split(/\n\s*\n/).forEach(function (p) { if (p.trim()) target.appendChild(el("p", null, p)); });
    if (list(s.challenges).length) target.appendChild(fieldList("Planerische Herausforderungen", list(s.challenges)));
    if (list(s.effects_intended).length) target.appendChild(fieldList("Beabsichtigte Raumwirkungen", list(s.effects_intended)));
    if (list(s.effects_unintended).length) target.appendChild(fieldList("Mögliche Nebenwirkungen", list(s.effects_unintended)));
    if (list(s.indicators).length) target.appendChild(fieldList("Indikatoren", list(s.indicators)));
    target.appendChild(el("p", "note", "Wirkungen und Indikatoren sind Einschätzungen der Redaktion."));
    target.appendChild(el("p", null, "Programm: " + (s.program_label || s.program) + " · Bundesland: " + s.state + " · Stand: " + s.updated));
    var located = Array.isArray(s.location) ? s.location : [];
    if (located.length) {
      // A small locator map, rendered by the server as an SVG image (no map tiles, no script).
      var places = located.map(function (l) { return String((l && l.place) || ""); }).filter(Boolean).join(", ");
      var img = el("img", "card-locator");
      img.src = "/loesung/" + encodeURIComponent(s.id) + "/karte.svg";
      img.alt = "Lage auf der Deutschlandkarte: " + (places || s.municipality) + " (" + s.state + ")";
      target.appendChild(img);
    }
    var page = el("a", null, "Eigene Seite dieser Lösung");
    page.href = "/loesung/" + encodeURIComponent(s.id);
    page.target = "_top";
    target.appendChild(el("p")).appendChild(page);
    var sources = el("div", "field card-sources");
    sources.appendChild(el("h4", null, "Quellen"));
    var ul = el("ul");
    list(s.sources).forEach(function (url) { ul.appendChild(sourceItem(url)); });
    sources.appendChild(ul);
    target.appendChild(sources);
  }

  function loadDetails(target, id) {
    if (target.dataset.loaded) return;
    target.dataset.loaded = "1";
    target.textContent = "Details werden geladen …";
    requestJSON("/api/solutions/" + encodeURIComponent(id), undefined, "Die Details konnten nicht geladen werden.")
      .then(function (body) { showDetails(target, body); })
      .catch(function (err) {
        target.textContent = (err && err.message) || "Die Details konnten nicht geladen werden.";
        delete target.dataset.loaded;
      });
  }

  function badges(parent, labels, className) {
    labels.forEach(function (label) { parent.appendChild(el("span", "badge " + className, label)); });
    if (!labels.length) parent.textContent = "–";
  }

  function syncKeepButton(button, id) {
    button.setAttribute("aria-pressed", merkliste && merkliste.has(id) ? "true" : "false");
  }

  function renderCards(results) {
    var cards = el("ol", "cards");
    results.forEach(function (r) {
      var card = cardTemplate.content.firstElementChild.cloneNode(true);
      var id = String(r.id);
      card.dataset.id = id;
      card.querySelector(".card-title").textContent = r.title;
      card.querySelector(".card-place").textContent = r.municipality + (r.state ? " (" + r.state + ")" : "");
      card.querySelector(".card-status").textContent = r.status_label || r.status || "–";
      badges(card.querySelector(".card-space"), list(r.space_type_labels), "badge-space");
      badges(card.querySelector(".card-themes"), list(r.theme_labels), "badge-theme");
      var effects = list(r.raumwirkungen_labels);
      if (effects.length) badges(card.querySelector(".card-effects"), effects, "badge-effect");
      else card.querySelector(".card-effects-row").remove();
      card.querySelector(".card-summary").textContent = r.summary;
      // The first view gives the one-line reason (the matched challenge); the full explanation opens with Details.
      var lines = String(r.explanation || "").split("\n");
      card.querySelector(".card-why-text").textContent = r.matched_challenge ? "„" + r.matched_challenge + "“" : lines[0];
      var why = card.querySelector(".card-why-full");
      lines.forEach(function (line, i) {
        if (i) why.appendChild(document.createElement("br"));
        why.appendChild(document.createTextNode(line));
      });
      card.querySelector(".card-keep-name").textContent = ": " + r.title;
      card.querySelector(".card-details-name").textContent = " zu „" + r.title + "“";
      var keep = card.querySelector(".card-keep");
      keep.dataset.id = id;
      if (merkliste) {
        syncKeepButton(keep, id);
        keep.addEventListener("click", function () { merkliste.toggle(r); });
      } else {
        keep.remove();
      }
      var details = card.querySelector(".card-details");
      details.addEventListener("toggle", function () { if (details.open) loadDetails(card.querySelector(".card-full"), id); });
      cards.appendChild(card);
    });
    return cards;
  }

  function renderChips(suggestions) {
    var group = el("div", "chips");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Vorschläge für Ihre nächste Nachricht");
    suggestions.forEach(function (s) {
      var chip = el("button", "chip", s.label);
      chip.type = "button";
      chip.addEventListener("click", function () { send(s.message, chip); });
      group.appendChild(chip);
    });
    return group;
  }

  function renderFeedback(question, resultIds) {
    var fb = feedbackTemplate.content.firstElementChild.cloneNode(true);
    var id = "feedback-comment-" + (++counter);
    var comment = fb.querySelector(".feedback-comment");
    comment.id = id;
    fb.querySelector(".feedback-comment-label").htmlFor = id;
    var status = fb.querySelector(".feedback-status");
    fb.addEventListener("submit", function (event) {
      event.preventDefault();
      var choice = fb.querySelector("input[name=helpful]:checked");
      status.classList.remove("error");
      if (!choice) {
        status.classList.add("error");
        status.textContent = "Bitte wählen Sie „Ja“ oder „Nein“.";
        fb.querySelector("input[name=helpful]").focus();
        return;
      }
      var button = fb.querySelector(".feedback-send");
      button.disabled = true;
      var rating = { query: question, result_ids: resultIds, helpful: choice.value === "true", comment: comment.value };
      requestJSON("/api/feedback", rating, "Ihre Rückmeldung konnte nicht gesendet werden.")
        .then(function () {
          Array.prototype.forEach.call(fb.querySelectorAll("fieldset, label, textarea, button"), function (node) { node.remove(); });
          status.textContent = "Vielen Dank für Ihre Rückmeldung.";
          status.focus();  // the button that had focus is gone; keep the user where the form was
        })
        .catch(function (err) {
          button.disabled = false;
          status.classList.add("error");
          status.textContent = (err && err.message) || "Ihre Rückmeldung konnte nicht gesendet werden.";
        });
    });
    return fb;
  }

  function facets() {
    var space = document.querySelector("input[name=space_type]:checked");
    var themes = Array.prototype.map.call(document.querySelectorAll("input[name=theme]:checked"), function (box) { return box.value; });
    var land = document.querySelector("select[name=land]");
    var size = document.querySelector("select[name=size_class]");
    return { space_type: space && space.value ? space.value : null, themes: themes,
             land: land && land.value ? land.value : null, size_class: size && size.value ? size.value : null };
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
  }

  function setBusy(on) {
    busy = on;
    sendButton.disabled = on;
    sendButton.textContent = on ? "Suche läuft …" : "Senden";
    if (on) form.setAttribute("aria-busy", "true"); else form.removeAttribute("aria-busy");
  }

  function send(text, origin) {
    text = String(text || "").trim();
    errorBox.hidden = true;
    if (busy) return;
    if (!text) {
      showError("Bitte beschreiben Sie Ihre Frage oder Herausforderung in ein paar Worten.");
      input.focus();
      return;
    }
    var typed = input.value;
    log.appendChild(message("Sie:", "user", text));
    if (!origin) input.value = "";
    setBusy(true);
    var filter = facets();
    var turn = { message: text, state: state, space_type: filter.space_type, themes: filter.themes };
    if (filter.land) turn.land = filter.land;
    if (filter.size_class) turn.size_class = filter.size_class;
    requestJSON("/api/chat", turn, "Die Anfrage ist fehlgeschlagen. Bitte versuchen Sie es erneut.")
      .then(function (raw) {
        var body = normalize(raw);
        state = body.state;
        // Build the whole answer first, then add it once, so screen readers announce it complete.
        var answer = message("Assistent:", "assistant", body.message);
        if (body.results.length) answer.appendChild(renderCards(body.results));
        if (body.suggestions.length) answer.appendChild(renderChips(body.suggestions));
        answer.appendChild(renderFeedback(text, body.results.map(function (r) { return String(r.id); })));
        log.appendChild(answer);
        answer.scrollIntoView({ block: "start" });
      })
      .catch(function (err) {
        showError((err && err.message && err.message !== "Failed to fetch") ? err.message
          : "Der Assistent ist gerade nicht erreichbar. Bitte versuchen Sie es erneut.");
        if (!origin && !input.value) input.value = typed;  // keep what was typed, so it can be sent again
      })
      .then(function () {
        setBusy(false);
        // Input keeps focus after sending; only focus moved elsewhere meanwhile (e.g. into a card) stays put.
        var active = document.activeElement;
        if (!active || active === document.body || active === input || active === sendButton || active === origin) input.focus();
      });
  }

  function restart() {
    state = null;
    log.textContent = "";
    if (welcome) log.appendChild(welcome.cloneNode(true));
    errorBox.hidden = true;
    input.value = "";
    input.focus();
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); send(input.value); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); send(input.value); }
  });
  if (restartButton) restartButton.addEventListener("click", restart);
  var reset = document.getElementById("facets-reset");
  if (reset) {
    reset.addEventListener("click", function () {
      Array.prototype.forEach.call(document.querySelectorAll("input[name=theme]"), function (box) { box.checked = false; });
      var all = document.querySelector("input[name=space_type][value='']");
      if (all) all.checked = true;
      Array.prototype.forEach.call(document.querySelectorAll("select[name=land], select[name=size_class]"), function (s) { s.value = ""; });
    });
  }
  if (merkliste) {
    merkliste.onChange(function () {
      Array.prototype.forEach.call(log.querySelectorAll(".card-keep"), function (button) { syncKeepButton(button, button.dataset.id); });
    });
  }
})();
