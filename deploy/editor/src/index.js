// Code Arena's code editor: CodeMirror 6 over a plain <textarea>, which stays in the
// form (hidden) and is kept in sync, so a normal POST or htmx's hx-post sends the code.
//
// Built into one IIFE (global `ArenaEditor`) by build.mjs; static/arena/editor.js finds
// the textareas and calls ArenaEditor.attach(textarea, languageSelect, {nonce}).
//
// Strict CSP: CodeMirror's own layout styles are injected as one <style> element by
// style-mod, which carries the nonce given here (EditorView.cspNonce), so the page's
// style-src must allow that nonce. Colours are not injected: tokens get the site's
// Pygments-style `hl-*` classes (arena.css), the rest is in static/arena/editor.css.
import { Compartment, EditorState } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLineGutter, highlightSpecialChars,
  drawSelection, highlightActiveLine,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  StreamLanguage, bracketMatching, indentOnInput, indentUnit, syntaxHighlighting,
} from "@codemirror/language";
import { tagHighlighter, tags as t } from "@lezer/highlight";
import { pythonLanguage } from "@codemirror/lang-python";
import { javascriptLanguage, typescriptLanguage } from "@codemirror/lang-javascript";
import { cppLanguage } from "@codemirror/lang-cpp";
import { javaLanguage } from "@codemirror/lang-java";
import { rustLanguage } from "@codemirror/lang-rust";
import { goLanguage } from "@codemirror/lang-go";
import { htmlLanguage } from "@codemirror/lang-html";
import { shell } from "@codemirror/legacy-modes/mode/shell";

export const version = "1";

// The nonce of the <script> that loaded this bundle, read while it runs (browsers hide
// the nonce attribute afterwards, the property stays). attach() can be given one too.
const scriptNonce = (document.currentScript && document.currentScript.nonce) || "";

let shellLanguage = null;

// The values of the rerun form's <select name="language">.
const LANGUAGES = {
  python: () => [pythonLanguage, indentUnit.of("    ")],
  javascript: () => [javascriptLanguage, indentUnit.of("  ")],
  typescript: () => [typescriptLanguage, indentUnit.of("  ")],
  c: () => [cppLanguage, indentUnit.of("    ")],
  cpp: () => [cppLanguage, indentUnit.of("    ")],
  java: () => [javaLanguage, indentUnit.of("    ")],
  go: () => [goLanguage, indentUnit.of("\t")],
  rust: () => [rustLanguage, indentUnit.of("    ")],
  bash: () => [shellLanguage || (shellLanguage = StreamLanguage.define(shell)), indentUnit.of("  ")],
  html: () => [htmlLanguage, indentUnit.of("  ")],
};

export const languages = Object.keys(LANGUAGES);

export function languageExtension(name) {
  const make = LANGUAGES[String(name || "").toLowerCase()];
  return make ? make() : [indentUnit.of("    ")];
}

// Lezer tags -> the Pygments short classes arena.css already colours for answers.
export const highlighter = tagHighlighter([
  { tag: [t.keyword, t.controlKeyword, t.definitionKeyword, t.moduleKeyword, t.operatorKeyword,
    t.modifier, t.self], class: "hl-k" },
  { tag: [t.bool, t.null, t.atom], class: "hl-kc" },
  { tag: [t.typeName, t.standard(t.typeName)], class: "hl-kt" },
  { tag: [t.string, t.character, t.special(t.string), t.attributeValue, t.docString], class: "hl-s" },
  { tag: [t.escape, t.regexp], class: "hl-se" },
  { tag: [t.number, t.integer, t.float], class: "hl-m" },
  { tag: [t.comment, t.lineComment, t.blockComment, t.docComment], class: "hl-c" },
  { tag: [t.meta, t.processingInstruction, t.macroName, t.annotation], class: "hl-cp" },
  { tag: [t.function(t.variableName), t.function(t.definition(t.variableName)),
    t.function(t.propertyName)], class: "hl-nf" },
  { tag: [t.className, t.definition(t.className), t.namespace], class: "hl-nc" },
  { tag: [t.standard(t.variableName), t.special(t.variableName)], class: "hl-nb" },
  { tag: t.tagName, class: "hl-nt" },
  { tag: t.attributeName, class: "hl-na" },
  { tag: t.invalid, class: "hl-err" },
]);

const darkQuery = typeof window.matchMedia === "function"
  ? window.matchMedia("(prefers-color-scheme: dark)") : null;

let hintCount = 0;

function labelText(textarea) {
  const label = textarea.labels && textarea.labels[0];
  return (label && label.textContent.trim()) || textarea.getAttribute("aria-label") || "Code";
}

/**
 * Replace `textarea` by an editor (the textarea stays in the form, hidden, in sync).
 * `languageSelect` (optional) picks the highlighting and is followed when it changes.
 * options: nonce (CSP nonce for CodeMirror's <style>), hint (text under the editor;
 * false for none). Returns {view, setLanguage(name), sync(), destroy()}.
 */
export function attach(textarea, languageSelect, options) {
  const opts = options || {};
  const nonce = opts.nonce || scriptNonce;
  const languageSlot = new Compartment();
  const schemeSlot = new Compartment();
  const doc = textarea.ownerDocument;

  const wrapper = doc.createElement("div");
  wrapper.className = "arena-editor";
  textarea.parentNode.insertBefore(wrapper, textarea);

  let hint = null;
  const hintText = opts.hint === undefined
    ? "Tab indents. To leave the editor with the keyboard, press Esc then Tab."
    : opts.hint;
  if (hintText) {
    hint = doc.createElement("p");
    hint.className = "editor-hint muted small";
    hint.id = "arena-editor-hint-" + (++hintCount);
    hint.textContent = hintText;
  }

  const contentAttributes = {
    "aria-label": labelText(textarea),
    "aria-multiline": "true",
    spellcheck: "false",
    autocorrect: "off",
    autocapitalize: "off",
    translate: "no",
  };
  if (hint) contentAttributes["aria-describedby"] = hint.id;

  const sync = () => {
    const value = view.state.doc.toString();
    if (textarea.value !== value) {
      textarea.value = value;
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }
  };

  let view;
  try {
    view = new EditorView({
      parent: wrapper,
      state: EditorState.create({
        doc: textarea.value,
        extensions: [
          EditorView.cspNonce.of(nonce),
          lineNumbers(),
          highlightActiveLineGutter(),
          highlightSpecialChars(),
          history(),
          drawSelection(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          syntaxHighlighting(highlighter),
          EditorState.tabSize.of(4),
          EditorState.readOnly.of(textarea.readOnly || textarea.disabled),
          // Tab indents; Esc then Tab (or Ctrl-M / Shift-Alt-M on macOS, which toggles
          // tab-focus mode) moves focus on, so the keyboard is never trapped.
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          EditorView.contentAttributes.of(contentAttributes),
          EditorView.updateListener.of((update) => { if (update.docChanged) sync(); }),
          languageSlot.of(languageExtension(languageSelect && languageSelect.value)),
          schemeSlot.of(EditorView.darkTheme.of(!!(darkQuery && darkQuery.matches))),
        ],
      }),
    });
  } catch (error) {
    wrapper.remove(); // the textarea was not touched: it stays the editor
    throw error;
  }
  if (hint) wrapper.appendChild(hint);
  textarea.hidden = true;
  textarea.classList.add("code-input-enhanced");

  const setLanguage = (name) => {
    view.dispatch({ effects: languageSlot.reconfigure(languageExtension(name)) });
  };
  const onLanguage = () => setLanguage(languageSelect.value);
  const onScheme = () => {
    view.dispatch({ effects: schemeSlot.reconfigure(EditorView.darkTheme.of(darkQuery.matches)) });
  };
  // The label points at the hidden textarea: send its clicks to the editor.
  const label = textarea.labels && textarea.labels[0];
  const onLabel = (event) => { event.preventDefault(); view.focus(); };
  // A form reset puts the textarea's default back: show it.
  const form = textarea.form;
  const onReset = () => {
    setTimeout(() => {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: textarea.value } });
    }, 0);
  };

  if (languageSelect) languageSelect.addEventListener("change", onLanguage);
  if (darkQuery) darkQuery.addEventListener("change", onScheme);
  if (label) label.addEventListener("click", onLabel);
  if (form) form.addEventListener("reset", onReset);

  return {
    view,
    setLanguage,
    sync,
    destroy() {
      if (languageSelect) languageSelect.removeEventListener("change", onLanguage);
      if (darkQuery) darkQuery.removeEventListener("change", onScheme);
      if (label) label.removeEventListener("click", onLabel);
      if (form) form.removeEventListener("reset", onReset);
      sync();
      view.destroy();
      wrapper.remove();
      textarea.hidden = false;
      textarea.classList.remove("code-input-enhanced");
    },
  };
}
