// Browser test of the yolops UI: Debian's chromium, driven by
// playwright-core, clicks through experiments -> runs -> run -> compare ->
// registry -> pipeline on a server that .ci/ui_test.sh started over a
// seeded store, checks what each page shows, saves screenshots, and
// measures the page load of the runs table of the large experiment.
//
// Environment: UI_INFO (the JSON the server wrote: its URL and the seeded
// ids), UI_SHOTS (the folder for screenshots and timings.json),
// CHROMIUM (default /usr/bin/chromium), UI_LOAD_BUDGET_MS (default 300).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const info = JSON.parse(readFileSync(process.env.UI_INFO, "utf8"));
const shots = process.env.UI_SHOTS || "screenshots";
const budget = Number(process.env.UI_LOAD_BUDGET_MS || 300);
const base = info.url;
const grid = info.grid;
mkdirSync(shots, { recursive: true });

let browser, page;
const problems = []; // script errors and failed requests, on any page

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  // The server runs with basic authentication (uiserver -auth): the
  // browser answers its challenge as alice, who may write, once the user
  // follows the page's "Sign in" link.
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL: base,
    httpCredentials: { username: "alice", password: "secret" } });
  page = await context.newPage();
  page.on("pageerror", (e) => problems.push("script error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  page.on("requestfailed", (r) => problems.push("request failed: " + r.url() + " " + r.failure()?.errorText));
});

after(async () => {
  await browser?.close();
});

const shot = (name, opts = {}) => page.screenshot({ path: join(shots, name), ...opts });

function noProblems() {
  // Aborted image loads when a page navigates away are not errors.
  const real = problems.filter((p) => !p.includes("net::ERR_ABORTED"));
  problems.length = 0;
  assert.deepEqual(real, [], "the browser reported problems");
}

test("experiments list", async () => {
  await page.goto("/");
  await assert.doesNotReject(page.getByRole("link", { name: "yolov8n-person-grid" }).waitFor());
  const text = await page.locator("#experiments").innerText();
  assert.match(text, /person-pipeline/);
  assert.match(text, /imgsz x lr0 x seed/);
  await shot("01-experiments.png");
  noProblems();
});

test("runs table: columns, sorting, filtering", async () => {
  await page.getByRole("link", { name: "yolov8n-person-grid" }).click();
  await page.waitForSelector("#runs");
  const rows = page.locator("#runs tbody tr");
  assert.equal(await rows.count(), 8);
  const head = await page.locator("#runs thead tr").first().innerText();
  for (const col of ["imgsz", "lr0", "seed", "metrics/mAP50B", "val/box_loss"]) assert.ok(head.includes(col), "header has " + col + ": " + head);
  // Varying params only: batch is the same in every run.
  assert.ok(!head.includes("batch"), "a param equal in every run is not a default column");

  // Sort by mAP50 (best first): the best run comes first.
  await page.locator("#runs thead a.sort", { hasText: "metrics/mAP50B" }).click();
  await page.waitForURL(/order=/);
  const best = grid.Names[grid.Runs.indexOf(grid.Best)];
  assert.equal((await rows.first().locator("td.name a").innerText()).trim(), best);

  // A column filter writes the grammar into the filter box.
  const imgsz = page.locator('input.col-filter[data-expr="params.`imgsz`"]');
  await imgsz.fill("416");
  await imgsz.press("Enter");
  await page.waitForURL(/filter=/);
  assert.equal(await page.inputValue("#filter"), "params.`imgsz` = '416'");
  assert.equal(await rows.count(), 4);
  for (const name of await page.locator("#runs td.name a").allInnerTexts()) assert.match(name, /sz416/);
  await shot("02-runs-sorted-filtered.png");

  // A filter the grammar rejects is explained, not a blank page.
  await page.fill("#filter", "metrics.mAP50-95B > 0.1");
  await page.press("#filter", "Enter");
  await page.waitForSelector("#filter-error");
  assert.match(await page.innerText("#filter-error"), /quote keys/);
  assert.match(problems.pop() || "", /status of 400/); // the page says 400, as it should

  // The column chooser: add a param column.
  await page.fill("#filter", "");
  await page.press("#filter", "Enter");
  await page.waitForSelector("#runs tbody tr");
  await page.click("details.chooser > summary");
  await page.fill("#chooser-search", "optim");
  await page.check('input[name=c][value="params.optimizer"]');
  await page.click(".chooser-panel button[type=submit]");
  await page.waitForURL(/c=params.optimizer/);
  assert.ok((await page.locator("#runs thead").innerText()).includes("optimizer"));
  assert.equal(await rows.count(), 8);
  noProblems();
});

test("run page: params, charts, artifacts", async () => {
  const best = grid.Names[grid.Runs.indexOf(grid.Best)];
  await page.getByRole("link", { name: best, exact: true }).click();
  await page.waitForSelector("#params");
  assert.match(await page.innerText("h1"), new RegExp(best));
  assert.match(await page.innerText("#params"), /imgsz\s+416/);
  assert.match(await page.innerText("#metrics"), /metrics\/mAP50B/);
  // One chart per metric, drawn.
  await page.waitForSelector(".chart canvas");
  assert.equal(await page.locator(".chart canvas").count(), 13);
  assert.match(await page.innerText(".facts"), /yolov8n-person v3/);
  await shot("03-run.png");

  // The x axis switches to time.
  await page.selectOption("#x-axis", "relative");
  await page.waitForSelector(".chart canvas");
  assert.equal(await page.locator(".chart canvas").count(), 13);
  await page.selectOption("#x-axis", "step");

  // Artifacts: tree, image preview, CSV table, Markdown report, download.
  const tree = page.locator("#artifacts + .artifacts .tree");
  for (const f of ["results.png", "results.csv", "args.yaml", "PR_curve.png", "best.safetensors", "report.md"]) {
    assert.ok((await tree.innerText()).includes(f), "tree lists " + f);
  }
  await tree.locator("a[data-path='results.png']").click();
  await page.waitForSelector("#preview img");
  await page.waitForFunction(() => document.querySelector("#preview img").naturalWidth > 0);
  await page.locator("#artifacts").scrollIntoViewIfNeeded();
  await page.locator(".artifacts").screenshot({ path: join(shots, "04-run-artifact-png.png") });
  await tree.locator("a[data-path='results.csv']").click();
  await page.waitForSelector("#preview table");
  assert.match(await page.innerText("#preview thead"), /metrics\/mAP50\(B\)/);
  assert.equal(await page.locator("#preview tbody tr").count(), 3);
  await page.locator(".artifacts").screenshot({ path: join(shots, "05-run-artifact-csv.png") });
  await tree.locator("a[data-path='args.yaml']").click();
  await page.waitForSelector("#preview pre");
  assert.match(await page.innerText("#preview pre"), /imgsz: 416/);
  await tree.locator("a[data-path='promotion/report.md']").click();
  await page.waitForSelector("#preview .markdown table");
  await page.waitForFunction(() => document.querySelector("#preview .markdown img")?.naturalWidth > 0);
  await page.locator(".artifacts").screenshot({ path: join(shots, "06-run-artifact-markdown.png") });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#preview a:text('download')")]);
  assert.equal(download.suggestedFilename(), "report.md");
  noProblems();
});

test("compare: curves, params diff, scatter", async () => {
  await page.goBack();
  await page.goto(`/experiments/${grid.Experiment}`);
  await page.check("#select-all");
  assert.equal(await page.locator("input.run-select:checked").count(), 8);
  await page.click("#compare-button");
  await page.waitForURL(/\/compare\?/);
  await page.waitForSelector("#param-diff");
  assert.equal(await page.locator("#legend a").count(), 8);
  const diff = await page.innerText("#param-diff");
  for (const p of ["imgsz", "lr0", "seed"]) assert.match(diff, new RegExp(p));
  assert.ok(!/\bbatch\b/.test(diff), "identical params are folded away");
  // Default scatter: imgsz against mAP50, coloured by seed.
  assert.equal(await page.locator("svg.scatter a circle").count(), 8);
  assert.equal(await page.inputValue("select[name=x]"), "params.imgsz");
  assert.equal(await page.inputValue("select[name=y]"), "metrics.metrics/mAP50B");
  assert.equal(await page.inputValue("select[name=color]"), "params.seed");
  await page.waitForSelector(".chart canvas");
  assert.equal(await page.locator(".chart canvas").count(), 13);
  await shot("07-compare.png");
  // Hovering a chart shows every run's value at that epoch.
  await page.evaluate(() => document.querySelector("#charts").scrollIntoView());
  const box = await page.locator(".chart .u-over").nth(1).boundingBox();
  await page.mouse.move(box.x + box.width * 0.97, box.y + box.height * 0.3);
  await page.waitForSelector(".chart-tip:not([hidden])");
  assert.equal(await page.locator(".chart-tip:not([hidden]) .swatch").count(), 8);
  await shot("08-compare-curves.png");
  // Another scatter: lr0 against mAP50-95.
  await page.selectOption("select[name=x]", "params.lr0");
  await page.selectOption("select[name=y]", "metrics.metrics/mAP50-95B");
  await page.click(".scatter-form button");
  await page.waitForURL(/x=params.lr0/);
  assert.equal(await page.locator("svg.scatter a circle").count(), 8);
  assert.match(await page.innerHTML("svg.scatter"), /mAP50-95B/);
  noProblems();
});

test("registry: models, versions, report, stage transition", async () => {
  await page.getByRole("link", { name: "Models" }).click();
  await page.waitForSelector("#models");
  const models = await page.innerText("#models");
  assert.match(models, /yolov8n-person/);
  assert.match(models, /Production/);
  assert.match(models, /@champion/);
  await shot("09-models.png");
  await page.getByRole("link", { name: "yolov8n-person", exact: true }).click();
  await page.waitForSelector("#versions");
  assert.equal(await page.locator("#versions tbody tr").count(), 3);
  const history = await page.innerText("#history");
  assert.match(history, /Passed the promotion gate/);
  assert.match(history, /archive_existing_versions/);
  await shot("10-model.png");

  await page.getByRole("link", { name: "v3", exact: true }).first().click();
  await page.waitForSelector("#report");
  assert.match(await page.innerText(".report"), /Promotion report/);
  await page.waitForFunction(() => document.querySelector(".report img")?.naturalWidth > 0);
  await shot("11-version-report.png");

  // Move v2 to Production: signed out, the form is disabled; after
  // signing in, a reason is required; then it is in the history, with
  // the user.
  await page.goto(`/models/${grid.Model}/versions/${grid.Versions[1]}`);
  assert.equal(await page.isDisabled("#transition-form button[type=submit]"), true);
  await page.getByRole("link", { name: "Sign in" }).click();
  await page.waitForSelector("text=Signed in as");
  assert.match(await page.innerText("#transition-form"), /Signed in as alice/);
  await page.goto(`/models/${grid.Model}/versions/${grid.Versions[1]}`);
  assert.equal(await page.isDisabled("#transition-form button[type=submit]"), false);
  await page.selectOption("#stage", "Production");
  assert.equal(await page.isVisible("#archive-row"), true);
  await page.click("#transition-form button[type=submit]");
  assert.equal(await page.evaluate(() => document.querySelector("#comment").validity.valueMissing), true);
  await page.fill("#comment", "Browser test: promoted from the UI.");
  await page.check("input[name=archive]");
  await page.click("#transition-form button[type=submit]");
  await page.waitForURL(/done=Production/);
  assert.match(await page.innerText(".banner.ok"), /Moved to Production/);
  assert.match(await page.innerText("h1"), /Production/);
  assert.match(await page.innerText("#history tbody tr:first-child"), /alice\s+Browser test: promoted from the UI\./);
  await shot("12-version-transitioned.png");
  // The page said 401 once, to ask for the user: expected.
  assert.ok(problems.every((p) => /status of 401/.test(p)), problems.join("; "));
  problems.length = 0;

  // A read-only user sees the form disabled.
  const viewer = await browser.newContext({ baseURL: base, httpCredentials: { username: "viewer", password: "secret" } });
  const vp = await viewer.newPage();
  await vp.goto(`/models/${grid.Model}/versions/${grid.Versions[0]}`);
  await vp.getByRole("link", { name: "Sign in" }).click();
  await vp.waitForSelector("text=Signed in as");
  assert.match(await vp.innerText("#transition-form"), /Signed in as viewer: read-only/);
  assert.equal(await vp.isDisabled("#transition-form button[type=submit]"), true);
  await viewer.close();
  noProblems();
});

test("pipeline: DAG of executed and cached steps, links to artifacts", async () => {
  await page.getByRole("link", { name: "Pipelines" }).click();
  await page.waitForSelector("#pipelines");
  assert.equal(await page.locator("#pipelines tbody tr").count(), 2);
  await page.getByRole("link", { name: "person-2" }).click();
  await page.waitForSelector("svg.dag");
  assert.equal(await page.locator("svg.dag g.node").count(), 5);
  assert.equal(await page.locator("svg.dag g.cached").count(), 2);
  assert.equal(await page.locator("svg.dag g.executed").count(), 3);
  assert.equal(await page.locator("svg.dag path.edge").count(), 5);
  await shot("13-pipeline.png");
  await page.locator("svg.dag g.cached a").first().click();
  await page.waitForSelector("#step");
  assert.match(await page.innerText("#step + .sub"), /reused the outputs of/);
  await page.locator("#step ~ .cols a", { hasText: "dataset" }).first().click();
  await page.waitForSelector("#preview pre");
  assert.match(await page.innerText("#preview pre"), /"step": "prepare"/);
  await shot("14-step-output.png");
  noProblems();
});

test("page load of the runs table at scale", { skip: !info.scale_experiment }, async () => {
  const exp = info.scale_experiment;
  const cases = {
    "first page": `/experiments/${exp}`,
    "sorted by a metric, filtered": `/experiments/${exp}?filter=${encodeURIComponent("metrics.`metrics/mAP50B` > 0.2 and params.imgsz = '416'")}&order=${encodeURIComponent("metrics.`metrics/mAP50B` DESC")}`,
    "last page": `/experiments/${exp}?page=${encodeURIComponent(Buffer.from(`{"offset": ${Math.floor((info.scale_runs - 1) / 100) * 100}}`).toString("base64"))}`,
  };
  const result = {};
  const loads = 9;
  for (const [name, url] of Object.entries(cases)) {
    await page.goto(url); // warm: the first load fetches the script and styles
    const samples = [];
    for (let i = 0; i < loads; i++) {
      await page.goto(url, { waitUntil: "load" });
      samples.push(await page.evaluate(() => {
        const n = performance.getEntriesByType("navigation")[0];
        return { ttfb: n.responseStart - n.requestStart, dom: n.domContentLoadedEventEnd - n.startTime, load: n.loadEventEnd - n.startTime };
      }));
    }
    const sorted = (k) => samples.map((s) => Math.round(s[k])).sort((a, b) => a - b);
    const stat = (k) => ({ best: sorted(k)[0], median: sorted(k)[loads >> 1] });
    result[name] = { server_ms: stat("ttfb"), dom_content_loaded_ms: stat("dom"), load_ms: stat("load"),
      rows: await page.locator("#runs tbody tr").count() };
    if (name === "first page") await shot("15-runs-10k.png");
  }
  writeFileSync(join(shots, "timings.json"), JSON.stringify(result, null, 2) + "\n");
  console.log(`page load over ${loads} loads, ms (best and median):`, JSON.stringify(result, null, 2));
  // The budget holds the best of the loads: on a machine that other work
  // shares, the median measures the neighbours as much as the page.
  for (const [name, r] of Object.entries(result)) {
    assert.ok(r.rows > 0, name + ": rows shown");
    assert.ok(r.load_ms.best < budget, `${name}: load ${r.load_ms.best} ms at best, budget ${budget} ms`);
  }
  noProblems();
});
