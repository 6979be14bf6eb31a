// Build the widgets' bundle: workbench/widgets/static/widgets.{js,css}, every dependency inlined.
// The banner records a hash of the sources (see sourcesHash); a Python unit test recomputes it and
// fails when the committed bundle is older than its sources.
//   node build.mjs          build
//   node build.mjs --check  exit 1 if the committed bundle does not match the sources
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "workbench", "widgets", "static");

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** sha256 over "path\0content\0" of the build inputs, sorted by path, CRLF read as LF. */
export function sourcesHash() {
  const files = ["package.json", "package-lock.json", "tsconfig.json", "build.mjs"]
    .map((f) => join(here, f))
    .concat(walk(join(here, "src")));
  const rel = files.map((f) => relative(here, f).split("\\").join("/")).sort();
  const h = createHash("sha256");
  for (const r of rel) {
    const text = readFileSync(join(here, r), "utf8").replace(/\r\n/g, "\n");
    h.update(`${r}\0${text}\0`);
  }
  return h.digest("hex");
}

const hash = sourcesHash();
const banner = `/* workbench widgets bundle; sources-sha256=${hash} */`;

if (process.argv.includes("--check")) {
  const js = join(out, "widgets.js");
  const first = existsSync(js) ? readFileSync(js, "utf8").split("\n", 1)[0] : "";
  if (first !== banner) {
    console.error("the widgets bundle is out of date: run `make widgets`");
    process.exit(1);
  }
  console.log("widgets bundle up to date");
  process.exit(0);
}

await esbuild.build({
  entryPoints: [join(here, "src", "index.ts")],
  outfile: join(out, "widgets.js"),
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  legalComments: "none",
  banner: { js: banner },
  logLevel: "warning",
});
// vega, vega-lite and vega-embed: a module of their own, loaded only by views that draw charts
await esbuild.build({
  entryPoints: [join(here, "src", "vega_entry.ts")],
  outfile: join(out, "vega.js"),
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  legalComments: "none",
  banner: { js: banner },
  logLevel: "warning",
});
await esbuild.build({
  entryPoints: [join(here, "src", "styles.css")],
  outfile: join(out, "widgets.css"),
  bundle: true,
  minify: true,
  banner: { css: banner },
  logLevel: "warning",
});
console.log(`built ${relative(process.cwd(), out)}/widgets.{js,css} and vega.js (sources ${hash.slice(0, 12)})`);
