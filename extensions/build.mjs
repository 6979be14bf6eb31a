// Build the prebuilt JupyterLab extension into workbench_jupyterlab/labextension/ (committed, so
// installing the Python package needs no Node):
//   1. esbuild bundles src/plugin.ts and src/mime.ts (with the shared helpers of ../js/src) into
//      lib/, leaving @jupyterlab/* and @lumino/* as imports;
//   2. @jupyter/builder (rspack, module federation) turns lib/ and style/ into the labextension,
//      sharing those imports with JupyterLab, against the pinned @jupyterlab/core-meta;
//   3. build.json records a hash of every input; a Python unit test recomputes it and fails
//      when the committed build is older than its sources.
//   node build.mjs          build
//   node build.mjs --check  exit 1 if the committed build does not match the sources
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "workbench_jupyterlab", "labextension");
const infoFile = join(out, "build.json");

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Inputs of the build, relative to the repository root (extensions/..). */
export function inputs() {
  const root = join(here, "..");
  const files = ["package.json", "package-lock.json", "tsconfig.json", "build.mjs"]
    .map((f) => join(here, f))
    .concat(walk(join(here, "src")), walk(join(here, "style")))
    .concat(["dom.ts", "keys.ts", "protocol.generated.ts", "styles.css"].map((f) => join(root, "js", "src", f)));
  return files.map((f) => relative(root, f).split("\\").join("/")).sort();
}

/** sha256 over "path\0content\0" of the inputs, sorted by path, CRLF read as LF. */
export function sourcesHash() {
  const root = join(here, "..");
  const h = createHash("sha256");
  for (const r of inputs()) {
    const text = readFileSync(join(root, r), "utf8").replace(/\r\n/g, "\n");
    h.update(`${r}\0${text}\0`);
  }
  return h.digest("hex");
}

const hash = sourcesHash();

if (process.argv.includes("--check")) {
  const built = existsSync(infoFile) ? JSON.parse(readFileSync(infoFile, "utf8")).sources_sha256 : "";
  if (built !== hash) {
    console.error("the labextension build is out of date: run `make labextension`");
    process.exit(1);
  }
  console.log("labextension build up to date");
  process.exit(0);
}

const esbuild = await import("esbuild");
await esbuild.build({
  entryPoints: { plugin: join(here, "src", "plugin.ts"), mime: join(here, "src", "mime.ts") },
  outdir: join(here, "lib"),
  bundle: true,
  format: "esm",
  target: "es2020",
  external: ["@jupyterlab/*", "@lumino/*"],
  legalComments: "none",
  logLevel: "warning",
});

const builder = join(here, "node_modules", "@jupyter", "builder", "lib", "build-labextension.js");
const core = join(here, "node_modules", "@jupyterlab", "core-meta", "core.package.json");
const run = spawnSync(process.execPath, [builder, "--core-package-file", core, here], { cwd: here, stdio: "inherit" });
if (run.status !== 0) process.exit(run.status ?? 1);

const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
const version = (name) => lock.packages?.[`node_modules/${name}`]?.version ?? null;
writeFileSync(
  infoFile,
  `${JSON.stringify(
    {
      name: pkg.name,
      version: pkg.version,
      sources_sha256: hash,
      inputs: inputs(),
      builder: `@jupyter/builder@${version("@jupyter/builder")}`,
      core_meta: `@jupyterlab/core-meta@${version("@jupyterlab/core-meta")}`,
      esbuild: version("esbuild"),
    },
    null,
    2,
  )}\n`,
);
console.log(`built ${relative(process.cwd(), out)} (sources ${hash.slice(0, 12)})`);
