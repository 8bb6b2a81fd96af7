// The page build, run by node inside the sandbox (no network): compiles the rater's
// program from /work into /work/build.json {"js": ..., "css": ...}, or exits 1 with the
// compiler's own message on stderr. React, ReactDOM and Vue are not bundled: imports of
// them resolve to the globals that the page's vendored runtimes define.
"use strict";
const fs = require("fs");
const NODE_MODULES = "/opt/node_modules";
const esbuild = require(NODE_MODULES + "/esbuild");

const GLOBALS = { react: "React", "react-dom": "ReactDOM", "react-dom/client": "ReactDOM", vue: "Vue" };
const JSX_RUNTIME =
  "const R = window.React; const j = (t, p, k) => R.createElement(t, k === undefined ? p : { ...p, key: k });" +
  " module.exports = { jsx: j, jsxs: j, jsxDEV: j, Fragment: R.Fragment };";

const globalsPlugin = {
  name: "arena-globals",
  setup(build) {
    build.onResolve({ filter: /^(react|react-dom|react-dom\/client|vue|react\/jsx(-dev)?-runtime)$/ }, (args) => ({
      path: args.path,
      namespace: "arena-global",
    }));
    build.onLoad({ filter: /.*/, namespace: "arena-global" }, (args) => ({
      contents: args.path.includes("jsx") ? JSX_RUNTIME : `module.exports = window.${GLOBALS[args.path]};`,
      loader: "js",
    }));
  },
};

function fail(message) {
  process.stderr.write(String(message).trim() + "\n");
  process.exit(1);
}

async function bundle(entry, loader) {
  try {
    const result = await esbuild.build({
      stdin: { contents: entry, loader, resolveDir: "/work", sourcefile: "entry" },
      bundle: true,
      write: false,
      format: "iife",
      target: "es2020",
      jsx: "transform",
      jsxFactory: "React.createElement",
      jsxFragment: "React.Fragment",
      plugins: [globalsPlugin],
      logLevel: "silent",
      define: { "process.env.NODE_ENV": '"production"' },
    });
    return result.outputFiles[0].text;
  } catch (error) {
    const messages = (error.errors || []).map((e) => {
      const where = e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : "";
      return `${where}error: ${e.text}` + (e.location ? `\n    ${e.location.lineText}` : "");
    });
    fail(messages.length ? messages.join("\n") : error.message);
  }
}

function reactEntry(source, file) {
  // A program that mounts itself is left alone; otherwise mount its component.
  if (/createRoot\s*\(|ReactDOM\.render\s*\(/.test(source)) return `import "./${file}";`;
  return (
    `import * as Program from "./${file}";\n` +
    "const App = Program.default || Object.values(Program).find((v) => typeof v === 'function');\n" +
    "if (!App) throw new Error('The program exports no component to show.');\n" +
    "ReactDOM.createRoot(document.getElementById('root')).render(React.createElement(App));\n"
  );
}

function compileVue(source) {
  const sfc = require(NODE_MODULES + "/@vue/compiler-sfc");
  const filename = "App.vue";
  const { descriptor, errors } = sfc.parse(source, { filename });
  if (errors.length) fail(errors.map((e) => `App.vue: error: ${e.message}`).join("\n"));
  const id = "data-v-arena";
  const scoped = descriptor.styles.some((s) => s.scoped);
  const lang = (descriptor.scriptSetup || descriptor.script || {}).lang;
  let code = "const _sfc_main = {};\n";
  try {
    if (descriptor.script || descriptor.scriptSetup) {
      const script = sfc.compileScript(descriptor, { id, inlineTemplate: !!descriptor.scriptSetup });
      const plugins = lang === "ts" || lang === "tsx" ? ["typescript"] : [];
      code = sfc.rewriteDefault(script.content, "_sfc_main", plugins) + "\n";
    }
    if (descriptor.template && !descriptor.scriptSetup) {
      const template = sfc.compileTemplate({
        source: descriptor.template.content, filename, id, scoped,
        compilerOptions: { scopeId: scoped ? id : undefined },
      });
      if (template.errors.length) fail(template.errors.map((e) => `App.vue: error: ${e.message || e}`).join("\n"));
      code += template.code.replace("export function render", "function _sfc_render") + "\n_sfc_main.render = _sfc_render;\n";
    }
  } catch (error) {
    fail(`App.vue: error: ${error.message}`);
  }
  if (scoped) code += `_sfc_main.__scopeId = "${id}";\n`;
  code += "export default _sfc_main;\n";
  const css = descriptor.styles
    .map((style) => {
      const out = sfc.compileStyle({ source: style.content, filename, id, scoped: style.scoped });
      if (out.errors.length) fail(out.errors.map((e) => `App.vue: error: ${e.message || e}`).join("\n"));
      return out.code;
    })
    .join("\n");
  const compiled = lang === "ts" || lang === "tsx" ? "App.vue.ts" : "App.vue.js";
  fs.writeFileSync("/work/" + compiled, code);
  return { entry: `import App from "./${compiled}";\nVue.createApp(App).mount("#app");\n`, css };
}

async function main() {
  const inputs = fs.readdirSync("/work");
  let js, css = "";
  if (inputs.includes("App.vue")) {
    const vue = compileVue(fs.readFileSync("/work/App.vue", "utf8"));
    js = await bundle(vue.entry, "ts");
    css = vue.css;
  } else {
    const file = inputs.find((name) => /^App\.(jsx|tsx)$/.test(name));
    if (!file) fail("nothing to build");
    js = await bundle(reactEntry(fs.readFileSync("/work/" + file, "utf8"), file), "tsx");
  }
  fs.writeFileSync("/work/build.json", JSON.stringify({ js, css }));
}

main().catch((error) => fail(error.stack || error));
