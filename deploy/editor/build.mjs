// Builds static/vendor/codemirror/arena-editor.min.js (one minified IIFE, global
// `ArenaEditor`) and, beside it, the licence notices of every package in the bundle.
// Usage (from this folder): npm ci && npm run build
import { build } from "esbuild";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, "../../static/vendor/codemirror");
const outFile = join(outDir, "arena-editor.min.js");
const noticesName = "arena-editor.min.js.LICENSE.txt";
const self = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));

mkdirSync(outDir, { recursive: true });

const result = await build({
  absWorkingDir: here,
  entryPoints: ["src/index.js"],
  outfile: outFile,
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "ArenaEditor",
  platform: "browser",
  target: ["es2020"],
  charset: "utf8",
  legalComments: "none", // CodeMirror has no in-source notices: the full texts go beside
  banner: {
    js: `/*! Code Arena editor ${self.version}: CodeMirror 6, Lezer and their dependencies, all MIT licensed. ` +
      `Notices: ${noticesName}. Source and build: deploy/editor/ */`,
  },
  metafile: true,
  logLevel: "info",
});

// Every package with code in the output (tree-shaken-away imports left out), with
// its licence text.
const packages = new Map();
const [output] = Object.values(result.metafile.outputs);
for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
  if (!bytesInOutput) continue;
  const match = input.match(/^(.*node_modules\/(@[^/]+\/[^/]+|[^/]+))\//);
  if (!match || packages.has(match[2])) continue;
  const dir = join(here, match[1]);
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const licenceFile = readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
  if (!licenceFile) throw new Error(`${meta.name}: no licence file to include`);
  packages.set(match[2], {
    name: meta.name,
    version: meta.version,
    license: meta.license,
    repository: typeof meta.repository === "string" ? meta.repository : meta.repository?.url,
    text: readFileSync(join(dir, licenceFile), "utf8").trim(),
  });
}

const sorted = [...packages.values()].sort((a, b) => a.name.localeCompare(b.name));
const notices = [
  `Third-party software in ${relative(resolve(here, "../.."), outFile)}`,
  `(built from deploy/editor/ with esbuild; ${sorted.length} packages)`,
  "",
  ...sorted.map((p) => [
    "-".repeat(78),
    `${p.name} ${p.version} (${p.license})${p.repository ? " " + p.repository : ""}`,
    "-".repeat(78),
    p.text,
    "",
  ].join("\n")),
].join("\n");
writeFileSync(join(outDir, noticesName), notices + "\n");

const size = readFileSync(outFile).length;
console.log(`${relative(here, outFile)}: ${(size / 1024).toFixed(1)} KiB, ` +
  `${sorted.length} packages: ${sorted.map((p) => p.name).join(", ")}`);
if (!existsSync(join(outDir, noticesName))) process.exit(1);
