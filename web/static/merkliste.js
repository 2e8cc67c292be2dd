/* Atlas-Lotse Merkliste: solutions a planner keeps during the conversation, exported as Markdown or CSV
 * (built in the browser, nothing is sent) or printed. Kept in sessionStorage only: gone when the tab closes. */
(function () {
  "use strict";
  var KEY = "atlas-lotse-merkliste";
  var FIELDS = ["id", "title", "municipality", "state", "status_label", "space_type_labels", "theme_labels",
    "raumwirkungen_labels", "summary", "explanation"];
  var items = [];
  var listeners = [];
  var memoryOnly = false;

  function load() {
    try {
      var parsed = JSON.parse(window.sessionStorage.getItem(KEY) || "[]");
      items = Array.isArray(parsed) ? parsed.filter(function (x) { return x && typeof x.id === "string"; }) : [];
    } catch (e) {
      memoryOnly = true;  // storage blocked (e.g. by browser settings): the list still works until the page closes
      items = [];
    }
  }

  function save() {
    if (memoryOnly) return;
    try { window.sessionStorage.setItem(KEY, JSON.stringify(items)); } catch (e) { memoryOnly = true; }
  }

  function pick(result) {
    var item = {};
    FIELDS.forEach(function (name) {
      var value = result[name];
      item[name] = Array.isArray(value) ? value.map(String) : value === undefined || value === null ? "" : String(value);
    });
    return item;
  }

  function has(id) {
    return items.some(function (x) { return x.id === id; });
  }

  function changed(announcement) {
    save();
    render(announcement);
    listeners.forEach(function (fn) { fn(); });
  }

  function toggle(result) {
    var id = String(result.id);
    if (has(id)) {
      items = items.filter(function (x) { return x.id !== id; });
      changed("„" + result.title + "“ von der Merkliste entfernt.");
    } else {
      items.push(pick(result));
      changed("„" + result.title + "“ auf die Merkliste gesetzt.");
    }
  }

  function lines(text) {
    return String(text || "").split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
  }

  function today() {
    return new Date().toISOString().slice(0, 10);
  }

  // Backslash-escape what Markdown would read as markup or raw HTML, so record text stays text.
  function md(text) {
    return String(text).replace(/([\\`*_{}\[\]<>#|])/g, "\\$1");
  }

  function toMarkdown() {
    var out = ["# Merkliste aus dem Atlas-Lotsen", "",
      "Stand: " + today() + " · " + items.length + (items.length === 1 ? " Lösung" : " Lösungen") +
      " · zusammengestellt mit einem automatischen Assistenten aus dem Atlas „Raumwirkung der Digitalisierung“.", ""];
    items.forEach(function (x, i) {
      out.push("## " + (i + 1) + ". " + md(x.title), "");
      out.push("- Kommune: " + md(x.municipality + (x.state ? " (" + x.state + ")" : "")));
      out.push("- Status: " + md(x.status_label));
      out.push("- Raumtyp: " + md(x.space_type_labels.join(", ")));
      out.push("- Themen: " + md(x.theme_labels.join(", ")));
      if (x.raumwirkungen_labels.length) out.push("- Raumwirkungen: " + md(x.raumwirkungen_labels.join(", ")));
      out.push("- Kennung im Atlas: " + md(x.id), "", md(x.summary), "");
      var why = lines(x.explanation);
      if (why.length) {
        out.push("**Warum passt das?**", "");
        why.forEach(function (l) { out.push("- " + md(l)); });
        out.push("");
      }
    });
    return out.join("\n");
  }

  function csvCell(value) {
    var text = String(value);
    // Spreadsheets run cells starting with these characters as formulas.
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return '"' + text.replace(/"/g, '""') + '"';
  }

  function toCsv() {
    var header = ["Titel", "Kommune", "Bundesland", "Status", "Raumtyp", "Themen", "Raumwirkungen", "Kurzbeschreibung",
      "Warum passt das?", "Kennung"];
    var rows = items.map(function (x) {
      return [x.title, x.municipality, x.state, x.status_label, x.space_type_labels.join(", "), x.theme_labels.join(", "),
        x.raumwirkungen_labels.join(", "), x.summary, lines(x.explanation).join(" "), x.id];
    });
    // Semicolons and a byte order mark: what spreadsheet programs set to German expect.
    return "\ufeff" + [header].concat(rows).map(function (row) { return row.map(csvCell).join(";"); }).join("\r\n") + "\r\n";
  }

  function download(filename, type, text) {
    var url = URL.createObjectURL(new Blob([text], { type: type }));
    var link = document.createElement("a");
    link.href = url;
    link.download = filename;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    window.setTimeout(function () { URL.revokeObjectURL(url); link.remove(); }, 10000);
  }

  function byId(id) { return document.getElementById(id); }

  var el = window.AtlasDom.el;

  // The pressed button is gone after a removal: focus the next one, or the heading when the list is empty.
  function focusAfterRemoval(list) {
    var next = list.querySelector(".merkliste-remove");
    if (!next) {
      next = byId("merkliste-heading");
      next.setAttribute("tabindex", "-1");
    }
    next.focus();
  }

  function render(announcement) {
    var list = byId("merkliste-items");
    if (!list) return;
    list.textContent = "";
    items.forEach(function (x) {
      var li = el("li", "merkliste-item");
      li.appendChild(el("p", "merkliste-title", x.title));
      li.appendChild(el("p", "merkliste-meta", x.municipality + " · " + x.status_label));
      // Shown in the print view only, so the printout stands on its own.
      var more = el("div", "print-only");
      more.appendChild(el("p", null, "Raumtyp: " + x.space_type_labels.join(", ") + " · Themen: " + x.theme_labels.join(", ")));
      more.appendChild(el("p", null, x.summary));
      lines(x.explanation).forEach(function (l) { more.appendChild(el("p", "merkliste-why", l)); });
      li.appendChild(more);
      var remove = el("button", "secondary merkliste-remove", "Entfernen");
      remove.type = "button";
      remove.appendChild(el("span", "visually-hidden", ": " + x.title));
      remove.addEventListener("click", function () {
        toggle(x);
        focusAfterRemoval(list);
      });
      li.appendChild(remove);
      list.appendChild(li);
    });
    byId("merkliste-count").textContent = "(" + items.length + ")";
    byId("merkliste-empty").hidden = items.length > 0;
    byId("merkliste-actions").hidden = items.length === 0;
    var compare = byId("merkliste-compare");  // side by side: 2 to 4 solutions (/vergleich)
    if (compare) {
      compare.hidden = items.length < 2 || items.length > 4;
      compare.href = "/vergleich?ids=" + encodeURIComponent(items.map(function (x) { return x.id; }).join(","));
    }
    if (announcement) byId("merkliste-status").textContent = announcement;
  }

  function wire() {
    var actions = {
      "merkliste-md": function () { download("merkliste-atlas-lotse-" + today() + ".md", "text/markdown;charset=utf-8", toMarkdown()); },
      "merkliste-csv": function () { download("merkliste-atlas-lotse-" + today() + ".csv", "text/csv;charset=utf-8", toCsv()); },
      "merkliste-print": function () {
        document.body.classList.add("print-merkliste");
        window.print();
      },
      "merkliste-clear": function () {
        items = [];
        changed("Die Merkliste ist leer.");
        focusAfterRemoval(byId("merkliste-items"));
      }
    };
    Object.keys(actions).forEach(function (id) {
      var button = byId(id);
      if (button) button.addEventListener("click", actions[id]);
    });
    window.addEventListener("afterprint", function () { document.body.classList.remove("print-merkliste"); });
    render();
  }

  load();
  window.AtlasMerkliste = {
    has: has,
    toggle: toggle,
    onChange: function (fn) { listeners.push(fn); },
    toMarkdown: toMarkdown,
    toCsv: toCsv
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire); else wire();
})();
