// Builds the UI's assets into ../static, which the Go package embeds:
// app.js (every page's script), charts.js (the charts, with uPlot) and
// app.css (the styles, with uPlot's). The
// output is deterministic, so `git diff --exit-code ../static` after a
// build tells whether the committed assets match the sources.
import * as esbuild from "esbuild";
import { readFileSync } from "node:fs";

// uPlot's licence asks for its notice to travel with the code.
const uplot = JSON.parse(readFileSync("node_modules/uplot/package.json", "utf8"));
const notice = `/*! uPlot ${uplot.version} (c) Leon Sorokin, ${uplot.license} licence, https://github.com/leeoniya/uPlot */`;

const common = {
  bundle: true,
  minify: true,
  logLevel: "info",
  legalComments: "eof",
  target: ["chrome110", "firefox110", "safari16"],
};

await esbuild.build({ ...common, entryPoints: ["src/app.js"], outfile: "../static/app.js", format: "iife" });
await esbuild.build({ ...common, entryPoints: ["src/charts.js"], outfile: "../static/charts.js", format: "iife", banner: { js: notice } });
await esbuild.build({ ...common, entryPoints: ["src/app.css"], outfile: "../static/app.css", banner: { css: notice } });
