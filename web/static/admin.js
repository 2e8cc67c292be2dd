/* Atlas-Lotse workbench (/admin): records, import preview, publishing with progress, builds and the audit log.
 * Talks to /api/admin/* with the token from sessionStorage (gone with the tab; the service sets no cookies).
 * Text from the corpus is only ever set as textContent, never as HTML. */
(function () {
  "use strict";

  var el = window.AtlasDom.el;
  var TOKEN_KEY = "atlas-admin-token";
  var LIST_FIELDS = ["challenges", "effects_intended", "effects_unintended", "indicators", "sources"];
  var CHOICE_FIELDS = ["space_types", "themes", "raumwirkungen"];
  var TEXT_FIELDS = ["id", "title", "summary", "municipality", "state", "program", "program_detail", "status", "updated", "description"];
  var editing = null; // {id, version, kept} of the record in the form, or null for a new one
  // Fields the form does not show (filled by `atlas locate`): kept as they are when the record is saved.
  var KEPT_FIELDS = ["location", "size_class"];
  var importBody = null;

  function $(id) { return document.getElementById(id); }
  function token() { return window.sessionStorage.getItem(TOKEN_KEY) || ""; }

  function say(text) { $("admin-status").textContent = text; }

  // One call to the admin API; resolves {status, body, headers} and rejects with the German message on errors.
  function api(method, path, body, extraHeaders, raw) {
    var headers = { "Accept": "application/json", "Authorization": "Bearer " + token() };
    Object.keys(extraHeaders || {}).forEach(function (k) { headers[k] = extraHeaders[k]; });
    var options = { method: method, headers: headers };
    if (raw !== undefined) {
      options.body = raw;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (parsed) {
        if (!r.ok) {
          var error = new Error((parsed && parsed.error) || "Die Anfrage ist fehlgeschlagen (" + r.status + ").");
          error.status = r.status;
          error.errors = (parsed && parsed.errors) || [];
          throw error;
        }
        return { status: r.status, body: parsed, headers: r.headers };
      });
    });
  }

  // --- sign-in -------------------------------------------------------------------------------------------------

  function showWorkbench(on) {
    $("signin").hidden = on;
    $("workbench").hidden = !on;
  }

  function signIn(event) {
    event.preventDefault();
    var input = $("token");
    window.sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    api("GET", "/api/admin/solutions").then(function (res) {
      input.value = "";
      input.removeAttribute("aria-invalid");
      $("token-error").hidden = true;
      showWorkbench(true);
      renderRecords(res.body);
      loadBuilds();
      loadAudit();
      loadInsights();
      resumeJob();
      say("Sie sind angemeldet.");
      $("records-title").focus();
    }, function (error) {
      window.sessionStorage.removeItem(TOKEN_KEY);
      input.setAttribute("aria-invalid", "true");
      $("token-error").textContent = error.message;
      $("token-error").hidden = false;
      input.focus();
    });
  }

  function signOut() {
    window.sessionStorage.removeItem(TOKEN_KEY);
    showWorkbench(false);
    say("Sie sind abgemeldet.");
    $("token").focus();
  }

  // --- records -------------------------------------------------------------------------------------------------

  function loadRecords() {
    var params = new URLSearchParams();
    if ($("filter-q").value.trim()) params.set("q", $("filter-q").value.trim());
    if ($("filter-space").value) params.set("space_type", $("filter-space").value);
    if ($("filter-problems").checked) params.set("problems", "true");
    return api("GET", "/api/admin/solutions?" + params.toString()).then(function (res) { renderRecords(res.body); },
      function (error) { say(error.message); });
  }

  function renderRecords(body) {
    var tbody = $("records").querySelector("tbody");
    tbody.textContent = "";
    $("records-count").textContent = body.count === 1 ? "1 Lösung" : body.count + " Lösungen";
    body.solutions.forEach(function (item) {
      var row = el("tr");
      row.appendChild(el("td", null, item.title || item.id));
      row.appendChild(el("td", null, item.municipality || "–"));
      var option = item.status && document.querySelector("#f-status option[value='" + item.status + "']");
      row.appendChild(el("td", null, option ? option.textContent : (item.status || "–")));
      var errors = item.problems.filter(function (p) { return p.severity === "error"; }).length;
      var warnings = item.problems.length - errors;
      row.appendChild(el("td", null, errors ? errors + " Fehler" : (warnings ? warnings + (warnings === 1 ? " Hinweis" : " Hinweise") : "in Ordnung")));
      var cell = el("td");
      var button = el("button", null, "Bearbeiten");
      button.type = "button";
      button.setAttribute("aria-label", "Bearbeiten: " + (item.title || item.id));
      button.addEventListener("click", function () { openRecord(item.id); });
      cell.appendChild(button);
      row.appendChild(cell);
      tbody.appendChild(row);
    });
  }

  function clearErrors() {
    $("editor-errors").hidden = true;
    $("editor-errors").textContent = "";
    Array.prototype.forEach.call(document.querySelectorAll("#record-form .field-error"), function (p) { p.hidden = true; p.textContent = ""; });
    Array.prototype.forEach.call(document.querySelectorAll("#record-form [aria-invalid]"), function (n) { n.removeAttribute("aria-invalid"); });
  }

  function fillForm(record) {
    var form = $("record-form");
    var places = (record.location || []).map(function (p) { return p.place + " (" + p.lat + ", " + p.lon + ")"; }).join("; ");
    $("f-place").textContent = "Ort und Größenklasse (aus dem Ortsverzeichnis, 'atlas locate'): " +
      (places || "kein einzelner Ort") + (record.size_class ? " · " + record.size_class : "");
    TEXT_FIELDS.forEach(function (name) { form.elements[name].value = record[name] || ""; });
    LIST_FIELDS.forEach(function (name) { form.elements[name].value = (record[name] || []).join("\n"); });
    CHOICE_FIELDS.forEach(function (name) {
      Array.prototype.forEach.call(form.querySelectorAll("input[name=" + name + "]"), function (box) {
        box.checked = (record[name] || []).indexOf(box.value) >= 0;
      });
    });
  }

  function readForm() {
    var form = $("record-form");
    var record = {};
    KEPT_FIELDS.forEach(function (name) { if (editing && editing.kept && editing.kept[name] !== undefined) record[name] = editing.kept[name]; });
    TEXT_FIELDS.forEach(function (name) { record[name] = form.elements[name].value; });
    LIST_FIELDS.forEach(function (name) {
      record[name] = form.elements[name].value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
    });
    CHOICE_FIELDS.forEach(function (name) {
      record[name] = Array.prototype.filter.call(form.querySelectorAll("input[name=" + name + "]"), function (b) { return b.checked; })
        .map(function (b) { return b.value; });
    });
    return record;
  }

  function openEditor(title) {
    clearErrors();
    $("editor").hidden = false;
    $("editor-title").textContent = title;
    $("editor-title").focus();
  }

  function openRecord(id) {
    api("GET", "/api/admin/solutions/" + encodeURIComponent(id)).then(function (res) {
      editing = { id: id, version: res.body.version, kept: res.body.record };
      fillForm(res.body.record);
      $("f-id").readOnly = true;
      $("delete-record").hidden = false;
      openEditor("Lösung bearbeiten: " + res.body.record.title);
    }, function (error) { say(error.message); });
  }

  function newRecord() {
    editing = null;
    fillForm({ updated: new Date().toISOString().slice(0, 10) });
    $("f-id").readOnly = false;
    $("delete-record").hidden = true;
    openEditor("Neue Lösung anlegen");
  }

  function showFieldErrors(error) {
    var summary = $("editor-errors");
    summary.textContent = "";
    summary.appendChild(el("p", null, error.message));
    var list = el("ul");
    (error.errors || []).forEach(function (e) {
      var name = (e.field || "").split(".")[0];
      var target = $("e-" + name) || $("e-" + (name === "effects" ? "effects_intended" : ""));
      var item = el("li", null, e.message);
      list.appendChild(item);
      if (target) {
        target.textContent = e.message;
        target.hidden = false;
        var input = $("f-" + name) || (target.parentNode && target.parentNode.querySelector("input, textarea, select"));
        if (input) input.setAttribute("aria-invalid", "true");
      }
    });
    summary.appendChild(list);
    summary.hidden = false;
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }

  function saveRecord(event) {
    event.preventDefault();
    clearErrors();
    var record = readForm();
    var id = record.id.trim();
    var headers = editing ? { "If-Match": '"' + editing.version + '"' } : {};
    api("PUT", "/api/admin/solutions/" + encodeURIComponent(id || "-"), record, headers).then(function (res) {
      editing = { id: id, version: res.body.version, kept: res.body.record };
      $("f-id").readOnly = true;
      $("delete-record").hidden = false;
      var warnings = res.body.warnings.length ? " Hinweise: " + res.body.warnings.map(function (w) { return w.message + " – " + w.fix; }).join("; ") : "";
      say((res.body.created ? "Angelegt: " : "Gespeichert: ") + res.body.record.title + ". Veröffentlichen Sie, damit die Suche sie findet." + warnings);
      loadRecords();
      loadAudit();
    }, function (error) {
      if (error.status === 409) {
        error.errors = [];
        error.message += " Ihre Eingaben stehen noch im Formular.";
      }
      showFieldErrors(error);
    });
  }

  function deleteRecord() {
    if (!editing || !window.confirm("Diese Lösung wirklich löschen? Sie können das im Änderungsprotokoll rückgängig machen.")) return;
    api("DELETE", "/api/admin/solutions/" + encodeURIComponent(editing.id), undefined, { "If-Match": '"' + editing.version + '"' })
      .then(function () {
        say("Gelöscht. Im Änderungsprotokoll können Sie das rückgängig machen.");
        $("editor").hidden = true;
        editing = null;
        loadRecords();
        loadAudit();
        $("records-title").focus();
      }, function (error) { showFieldErrors(error); });
  }

  // --- import --------------------------------------------------------------------------------------------------

  function importFormat(file) { return /\.(jsonl|ndjson)$/i.test(file.name) ? "jsonl" : "csv"; }

  function postImport(dryRun) {
    var file = $("import-file").files[0];
    if (!file || !importBody) return Promise.resolve();
    var params = "format=" + importFormat(file) + "&dry_run=" + dryRun + "&remove_missing=" + $("import-remove").checked;
    var type = importFormat(file) === "csv" ? "text/csv" : "application/x-ndjson";
    return api("POST", "/api/admin/import?" + params, undefined, { "Content-Type": type }, importBody).then(function (res) {
      renderDiff(res.body);
      $("import-apply").disabled = !dryRun || !(res.body.new.length || res.body.changed.length || res.body.removed.length);
      if (!dryRun) { say("Import übernommen. Veröffentlichen Sie, damit die Suche die Änderungen findet."); loadRecords(); loadAudit(); }
    }, function (error) { $("import-result").textContent = error.message; });
  }

  function renderDiff(body) {
    var box = $("import-result");
    box.textContent = "";
    var wrap = el("div", "diff");
    wrap.appendChild(el("p", null, body.applied ? "Übernommen:" : "Vorschau – noch nichts geändert:"));
    [["new", "Neu"], ["changed", "Geändert"], ["unchanged", "Unverändert"], ["removed", "Würde gelöscht"]].forEach(function (pair) {
      var ids = body[pair[0]];
      wrap.appendChild(el("h3", null, pair[1] + " (" + ids.length + ")"));
      if (ids.length) wrap.appendChild(el("p", null, ids.join(", ")));
    });
    wrap.appendChild(el("h3", null, "Abgelehnte Zeilen (" + body.rejected.length + ")"));
    var list = el("ul");
    body.rejected.forEach(function (row) {
      row.problems.forEach(function (p) { list.appendChild(el("li", null, row.row + ", Feld „" + p.field + "“: " + p.message + " – " + p.fix)); });
    });
    wrap.appendChild(list);
    box.appendChild(wrap);
  }

  function previewImport(event) {
    event.preventDefault();
    var file = $("import-file").files[0];
    if (!file) { $("import-result").textContent = "Bitte wählen Sie zuerst eine Datei."; return; }
    file.arrayBuffer().then(function (buffer) { importBody = buffer; return postImport(true); });
  }

  // --- publishing, builds, audit -------------------------------------------------------------------------------

  // A publish that changed more than a tenth of the records goes live at once and is followed by a retune job
  // (followed_by) that publishes again minutes later: the status follows that job too, so the editor sees it.
  function showJob(job) {
    $("publish-progress").value = job.progress;
    var retune = job.kind === "retune";
    var text = job.state === "done"
      ? (retune ? "Mit neu angepasstem Modell veröffentlicht: Stand " : "Veröffentlicht: Stand ") + job.build + " (" + job.seconds + " s, " + job.encoded + " Texte neu eingebettet)."
        + (job.followed_by ? " Weil sich mehr als ein Zehntel der Lösungen geändert hat, wird das Modell jetzt im Hintergrund neu angepasst (einige Minuten); danach wird erneut veröffentlicht." : "")
      : job.state === "failed" ? (retune ? "Das Modell wurde nicht neu angepasst: " : "Nicht veröffentlicht: ") + job.error + (job.problems.length ? " " + job.problems.map(function (p) { return p.file + ": " + p.message; }).join("; ") : "")
        + (retune ? " Der bisherige Stand bleibt aktiv." : "")
      : (retune ? "Modell wird neu angepasst: " : "Läuft: ") + job.step + " (" + Math.round(job.progress * 100) + " %)";
    $("publish-status").textContent = text;
  }

  // One job's status is shown at a time: a newer publish takes the status over from the job followed before.
  var following = null;

  function underway(job) { return job.state === "queued" || job.state === "running"; }

  function follow(id, quiet) {
    following = id;
    poll(id, quiet);
  }

  // quiet: the notice on screen stays until the job ends (a retune that goes on after a publish made meanwhile).
  function poll(id, quiet) {
    if (following !== id) { return; }
    api("GET", "/api/admin/jobs/" + id).then(function (r) {
      if (following !== id) { return; }
      var job = r.body.job;
      if (!underway(job)) {
        showJob(job);
        loadBuilds();
        if (job.followed_by) { window.setTimeout(function () { follow(job.followed_by); }, 500); }
        else if (job.kind === "publish" && job.state === "done") { retuneGoesOn(id); }
        return;
      }
      if (!quiet && (job.kind !== "retune" || job.state === "running")) { showJob(job); }  // a queued retune leaves the notice up
      window.setTimeout(function () { poll(id, quiet); }, 500);
    }, function (error) { $("publish-status").textContent = error.message; });
  }

  // A publish made while the model is being adapted goes live at once; the adapted model is published after it,
  // with this publish's changes in it. The status says so and follows the retune to its end.
  function retuneGoesOn(publishId) {
    api("GET", "/api/admin/jobs").then(function (res) {
      var retune = res.body.jobs.filter(function (j) { return j.kind === "retune" && underway(j); })[0];
      if (!retune || following !== publishId) { return; }
      $("publish-status").textContent += " Das Modell wird weiter im Hintergrund neu angepasst; danach wird erneut veröffentlicht, mit dieser Änderung.";
      follow(retune.id, true);
    }, function () {});
  }

  // After a reload or a new sign-in: a publish or retune still under way is shown and followed again; so is the last
  // one if a restart of the service cut it off (it says to publish again).
  function resumeJob() {
    api("GET", "/api/admin/jobs").then(function (res) {
      var job = res.body.jobs.filter(underway)[0], last = res.body.jobs[0];
      if (job) { showJob(job); follow(job.id); }
      else if (last && last.interrupted) { showJob(last); }
    }, function () {});
  }

  function publish(event) {
    event.preventDefault();
    api("POST", "/api/admin/publish", { retune: $("publish-retune").checked }).then(function (res) {
      showJob(res.body.job);
      follow(res.body.job.id);
    }, function (error) { $("publish-status").textContent = error.message; });
  }

  function loadBuilds() {
    api("GET", "/api/admin/builds").then(function (res) {
      var tbody = $("builds").querySelector("tbody");
      tbody.textContent = "";
      res.body.builds.forEach(function (b) {
        var row = el("tr");
        row.appendChild(el("td", null, b.build + (b.current ? " (aktiv)" : "")));
        row.appendChild(el("td", null, b.created || "–"));
        row.appendChild(el("td", null, b.count === null ? "–" : String(b.count)));
        var cell = el("td");
        if (!b.current && b.readable) {
          var button = el("button", null, "Zurückkehren");
          button.type = "button";
          button.setAttribute("aria-label", "Zu Stand " + b.build + " zurückkehren");
          button.addEventListener("click", function () {
            api("POST", "/api/admin/rollback", { build: b.build }).then(function () {
              say("Der Stand " + b.build + " ist wieder aktiv.");
              loadBuilds();
            }, function (error) { say(error.message); });
          });
          cell.appendChild(button);
        }
        row.appendChild(cell);
        tbody.appendChild(row);
      });
    }, function (error) { say(error.message); });
  }

  var ACTIONS = { create: "angelegt", update: "geändert", "delete": "gelöscht", undo: "rückgängig gemacht" };

  function loadAudit() {
    api("GET", "/api/admin/audit?limit=20").then(function (res) {
      var list = $("audit");
      list.textContent = "";
      res.body.entries.forEach(function (e) {
        var item = el("li", null, e.time + ": " + e.id + " " + (ACTIONS[e.action] || e.action) + " ");
        var button = el("button", null, "Rückgängig");
        button.type = "button";
        button.setAttribute("aria-label", "Rückgängig: " + e.id + " " + (ACTIONS[e.action] || e.action) + " (" + e.time + ")");
        button.addEventListener("click", function () {
          api("POST", "/api/admin/audit/" + e.n + "/undo").then(function () {
            say("Rückgängig gemacht: " + e.id + ".");
            loadRecords();
            loadAudit();
          }, function (error) { say(error.message); });
        });
        item.appendChild(button);
        list.appendChild(item);
      });
    }, function (error) { say(error.message); });
  }

  // --- insights ------------------------------------------------------------------------------------------------

  function days() { return Math.max(1, Math.min(730, parseInt($("insights-days").value, 10) || 90)); }

  function loadInsights() {
    api("GET", "/api/admin/insights?days=" + days()).then(function (res) {
      var body = res.body;
      $("insights-summary").textContent = body.enabled
        ? body.questions + " Fragen aus den letzten " + body.days + " Tagen in " + body.groups.length + " Gruppen."
        : "Das Sammeln ist ausgeschaltet (ATLAS_INSIGHTS=false).";
      var groups = $("insight-groups").querySelector("tbody");
      groups.textContent = "";
      body.groups.forEach(function (g) {
        var row = el("tr");
        [g.representative, String(g.count), String(g.no_match), String(g.not_helpful), g.examples.join(" | ")]
          .forEach(function (text) { row.appendChild(el("td", null, text)); });
        groups.appendChild(row);
      });
      var demand = $("insight-demand").querySelector("tbody");
      demand.textContent = "";
      body.demand.filter(function (r) { return r.asked > 0 || r.records === 0; }).forEach(function (r) {
        var row = el("tr");
        [(r.kind === "space_types" ? "Raumtyp: " : "Thema: ") + r.label, String(r.asked), String(r.records)]
          .forEach(function (text) { row.appendChild(el("td", null, text)); });
        demand.appendChild(row);
      });
    }, function (error) { say(error.message); });
  }

  function downloadInsights() {
    fetch("/api/admin/insights.csv?days=" + days(), { headers: { "Authorization": "Bearer " + token() } }).then(function (r) {
      if (!r.ok) throw new Error("Die CSV-Datei konnte nicht erstellt werden.");
      return r.blob();
    }).then(function (blob) {
      var link = el("a");
      link.href = URL.createObjectURL(blob);
      link.download = "atlas-luecken.csv";
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    }).catch(function (error) { say(error.message); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("insights-form").addEventListener("submit", function (e) { e.preventDefault(); loadInsights(); });
    $("insights-csv").addEventListener("click", downloadInsights);
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", signOut);
    $("filter-form").addEventListener("submit", function (e) { e.preventDefault(); loadRecords(); });
    $("new-record").addEventListener("click", newRecord);
    $("record-form").addEventListener("submit", saveRecord);
    $("delete-record").addEventListener("click", deleteRecord);
    $("close-editor").addEventListener("click", function () { $("editor").hidden = true; $("records-title").focus(); });
    $("import-form").addEventListener("submit", previewImport);
    $("import-file").addEventListener("change", function () { importBody = null; $("import-apply").disabled = true; });
    $("import-apply").addEventListener("click", function () { postImport(false); });
    $("publish-form").addEventListener("submit", publish);
    if (token()) {
      api("GET", "/api/admin/solutions").then(function (res) {
        showWorkbench(true); renderRecords(res.body); loadBuilds(); loadAudit(); loadInsights(); resumeJob();
      }, function () { window.sessionStorage.removeItem(TOKEN_KEY); });
    }
  });
})();
