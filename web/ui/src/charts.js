// The metric charts of the run and compare pages, drawn with uPlot from
// the data the server embeds in <script id="chart-data">.
import uPlot from "uplot";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// --- charts ---------------------------------------------------------------

// columns returns a run's [x, y] for a metric, x by the chosen axis; points
// logged twice at one x (Ultralytics' final validation repeats the last
// epoch) keep the later value.
function columns(series, mode, start) {
  const [steps, times, values] = series;
  const byX = new Map();
  for (let i = 0; i < values.length; i++) {
    let x = steps[i];
    if (mode === "time") x = times[i] / 1000;
    else if (mode === "relative") x = (times[i] - start) / 1000;
    byX.set(x, values[i]);
  }
  const xs = Array.from(byX.keys()).sort((a, b) => a - b);
  return [xs, xs.map((x) => byX.get(x))];
}

// align joins several runs' [x, y] on the union of their x values.
function align(tables) {
  const xs = Array.from(new Set(tables.flatMap((t) => t[0]))).sort((a, b) => a - b);
  const out = [xs];
  for (const [tx, ty] of tables) {
    const m = new Map(tx.map((x, i) => [x, ty[i]]));
    out.push(xs.map((x) => (m.has(x) ? m.get(x) : null)));
  }
  return out;
}

function fmt(v) {
  if (v == null || Number.isNaN(v)) return "—";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

// tooltip lists every series' value at the cursor, in place of uPlot's
// legend, which grows too tall with ten runs. Cursors are synced across
// the charts, the tooltip shows only on the chart under the mouse.
function tooltip(names) {
  let tip;
  let hovered = false;
  return {
    hooks: {
      init(u) {
        tip = document.createElement("div");
        tip.className = "chart-tip";
        tip.hidden = true;
        u.over.appendChild(tip);
        u.over.addEventListener("mouseenter", () => (hovered = true));
        u.over.addEventListener("mouseleave", () => {
          hovered = false;
          tip.hidden = true;
        });
      },
      setCursor(u) {
        const i = u.cursor.idx;
        if (i == null || !hovered) {
          tip.hidden = true;
          return;
        }
        const x = u.data[0][i];
        const mode = u.__mode;
        const xl = mode === "time" ? new Date(x * 1000).toLocaleString() : mode === "relative" ? fmt(x) + " s" : "step " + x;
        let html = "<b>" + xl + "</b>";
        // Highest first, so the ranking at this epoch reads top down.
        const rows = [];
        for (let s = 1; s < u.series.length; s++) {
          const v = u.data[s][i];
          if (v != null) rows.push([v, s]);
        }
        rows.sort((a, b) => b[0] - a[0]);
        for (const [v, s] of rows) {
          html += '<div><span class="swatch" style="background:' + u.series[s].stroke() + '"></span>' +
            escapeHTML(names[s - 1]) + " <b>" + fmt(v) + "</b></div>";
        }
        tip.innerHTML = html;
        tip.hidden = false;
        const left = u.cursor.left, top = u.cursor.top;
        const w = u.over.clientWidth;
        tip.style.left = (left > w / 2 ? left - tip.offsetWidth - 12 : left + 12) + "px";
        tip.style.top = Math.max(0, top - 10) + "px";
      },
    },
  };
}

function escapeHTML(s) {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function charts() {
  const el = $("#chart-data");
  if (!el) return;
  const data = JSON.parse(el.textContent);
  const plots = [];
  const axisSelect = $("#x-axis");
  const names = data.runs.map((r) => r.name);

  const draw = () => {
    const mode = axisSelect ? axisSelect.value : "step";
    for (const p of plots) p.destroy();
    plots.length = 0;
    for (const box of $$(".chart[data-key]")) {
      const key = box.dataset.key;
      const series = data.metrics[key] || [];
      const tables = series.map((s, i) => columns(s, mode, data.runs[i].start));
      const aligned = align(tables);
      const few = aligned[0].length <= 60;
      const opts = {
        width: Math.max(200, box.clientWidth),
        height: 200,
        legend: { show: false },
        cursor: { drag: { x: true, y: true, uni: 40 }, sync: { key: "metrics" }, points: { size: 7 } },
        scales: { x: { time: mode === "time" } },
        axes: [
          { stroke: "#57606a", grid: { stroke: "#eaeef2" }, ticks: { stroke: "#d0d7de" },
            label: mode === "step" ? "epoch (step)" : mode === "relative" ? "seconds since start" : "", labelSize: 18, labelFont: "11px system-ui, sans-serif",
            values: mode === "step" ? (u, vals) => vals.map((v) => (Number.isInteger(v) ? String(v) : "")) : undefined },
          { stroke: "#57606a", grid: { stroke: "#eaeef2" }, ticks: { stroke: "#d0d7de" }, size: 56,
            values: (u, vals) => vals.map(fmt) },
        ],
        series: [{}].concat(data.runs.map((r) => ({
          label: r.name, stroke: r.color, width: 2, spanGaps: true,
          points: { show: few, size: 6, fill: r.color },
        }))),
        plugins: [tooltip(names)],
      };
      const u = new uPlot(opts, aligned, box);
      u.__mode = mode;
      plots.push(u);
    }
  };
  draw();
  if (axisSelect) axisSelect.addEventListener("change", draw);
  let width = 0;
  const ro = new ResizeObserver(() => {
    const w = $(".charts")?.clientWidth || 0;
    if (w === width) return;
    width = w;
    for (const p of plots) p.setSize({ width: Math.max(200, p.root.parentElement.clientWidth), height: 200 });
  });
  for (const c of $$(".charts")) ro.observe(c);
}

charts();
