// The yolops UI's script. Pages are complete without it (the server
// renders every table); it adds conveniences: run selection for Compare,
// per-column filters that write the filter grammar, the column chooser's
// search, artifact previews without a page load, local times. The charts
// are charts.js, loaded only by the pages that have some, so that the
// runs table does not parse uPlot.

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

function localTimes() {
  for (const el of $$("time[data-ms]")) {
    const ms = Number(el.dataset.ms);
    if (ms > 0) el.title = new Date(ms).toLocaleString();
  }
}

// --- runs table -----------------------------------------------------------

function runsTable() {
  const table = $("#runs");
  if (!table) return;
  const button = $("#compare-button");
  const count = $("#compare-count");
  const boxes = $$("input.run-select", table);
  const all = $("#select-all");
  const update = () => {
    const n = boxes.filter((b) => b.checked).length;
    button.disabled = n < 2 || n > 10;
    count.textContent = n === 0 ? "Tick 2 to 10 runs to compare" : n + " selected" + (n > 10 ? " (at most 10)" : "");
    for (const b of boxes) b.closest("tr").classList.toggle("selected", b.checked);
  };
  for (const b of boxes) b.addEventListener("change", update);
  if (all) {
    all.addEventListener("change", () => {
      for (const b of boxes.slice(0, 10)) b.checked = all.checked;
      update();
    });
  }
  update();

  // Per-column filters: "> 0.5", "= 416", "LIKE 'n%'", or a bare value
  // (equality). They become clauses of the filter box, which stays the one
  // place the filter lives (the same grammar as the API).
  const filter = $("#filter");
  for (const input of $$("input.col-filter", table)) {
    input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      const clause = columnClause(input.dataset.expr, input.dataset.entity, input.value.trim());
      if (!clause) return;
      filter.value = filter.value.trim() ? filter.value.trim() + " and " + clause : clause;
      filter.form.requestSubmit();
    });
  }
}

function quoteValue(v) {
  return "'" + v.replace(/'/g, "''") + "'";
}

function columnClause(expr, entity, text) {
  if (!text) return "";
  const m = text.match(/^(<=|>=|!=|=|<|>|not\s+in\b|in\b|ilike\b|like\b)\s*(.*)$/i);
  let op = "=";
  let value = text;
  if (m) {
    op = m[1].toUpperCase().replace(/\s+/g, " ");
    value = m[2].trim();
  }
  if (!value) return "";
  const quoted = /^'.*'$|^".*"$|^\(.*\)$/.test(value);
  if (!quoted && (entity !== "metrics" || /^(LIKE|ILIKE)$/.test(op))) value = quoteValue(value);
  return expr + " " + op + " " + value;
}

function columnChooser() {
  const search = $("#chooser-search");
  if (!search) return;
  search.addEventListener("input", () => {
    const q = search.value.toLowerCase();
    for (const label of $$(".chooser label")) {
      label.hidden = q !== "" && !label.textContent.toLowerCase().includes(q);
    }
  });
  for (const b of $$("[data-check]")) {
    b.addEventListener("click", () => {
      const group = $(b.dataset.group);
      for (const c of $$("input[type=checkbox]", group)) {
        if (c.closest("label").hidden) continue;
        c.checked = b.dataset.check === "all" ? true : b.dataset.check === "none" ? false : c.dataset.varies === "1";
      }
    });
  }
}

// --- artifacts ------------------------------------------------------------

function artifacts() {
  const pane = $("#preview");
  if (!pane) return;
  const runID = pane.dataset.run;
  $("#artifacts")?.addEventListener("click", async (e) => {
    const a = e.target.closest("a[data-path]");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    for (const x of $$("a[data-path].active")) x.classList.remove("active");
    a.classList.add("active");
    pane.classList.add("loading");
    const path = a.dataset.path;
    try {
      const r = await fetch("/runs/" + encodeURIComponent(runID) + "/preview?path=" + encodeURIComponent(path));
      const html = await r.text();
      if (!r.ok) {
        const doc = new DOMParser().parseFromString(html, "text/html");
        pane.innerHTML = '<p class="error"></p>';
        pane.firstChild.textContent = (doc.querySelector(".error-message")?.textContent || r.statusText).trim();
      } else {
        pane.innerHTML = html;
      }
      const u = new URL(location.href);
      u.searchParams.set("artifact", path);
      u.hash = "artifacts";
      history.replaceState(null, "", u);
    } catch (err) {
      pane.textContent = "Could not load the preview: " + err;
    } finally {
      pane.classList.remove("loading");
    }
  });
}

// --- registry -------------------------------------------------------------

function transitionForm() {
  const stage = $("#stage");
  const archive = $("#archive-row");
  if (!stage || !archive) return;
  const update = () => (archive.hidden = !["Staging", "Production"].includes(stage.value));
  stage.addEventListener("change", update);
  update();
}

localTimes();
runsTable();
columnChooser();
artifacts();
transitionForm();
