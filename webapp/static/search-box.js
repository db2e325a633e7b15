/* The site's own search box: completions from /api/suggest as you type, and your recent searches
 * (kept in this browser only, in localStorage) when the box is empty. The combobox is the
 * widget's (static/combobox.js, loaded before this file). "/" focuses the box from anywhere
 * but another field. Completions only ever become text, never markup. */
(() => {
"use strict";
const input = document.querySelector("form[role=search] input[name=q]");
if (!input || typeof Combobox !== "function") return;
const form = input.form;
const RECENT_KEY = "article-search:recent";
const MAX_RECENT = 8;
const DEBOUNCE_MS = 120;

const el = (tag, attrs, text) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
};

// Storage may be off (private mode, a policy): then there are simply no recent searches.
const recent = {
  read() {
    try {
      const list = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]");
      return Array.isArray(list) ? list.filter((q) => typeof q === "string" && q.trim()).slice(0, MAX_RECENT) : [];
    } catch (error) { return []; }
  },
  add(q) {
    const list = [q, ...this.read().filter((old) => old.toLowerCase() !== q.toLowerCase())].slice(0, MAX_RECENT);
    try { localStorage.setItem(RECENT_KEY, JSON.stringify(list)); } catch (error) { /* storage off */ }
  },
  clear() { try { localStorage.removeItem(RECENT_KEY); } catch (error) { /* storage off */ } },
};

const popup = el("div", { class: "search-popup" });
const heading = el("p", { class: "search-popup-heading", id: "q-popup-heading" });
const list = el("ul", { id: "q-listbox", "aria-labelledby": "q-popup-heading" });
const clear = el("button", { type: "button", class: "search-popup-clear" }, "Clear recent searches");
const status = el("div", { class: "visually-hidden", role: "status" });
popup.append(heading, list, clear);
input.after(popup, status);
form.classList.add("has-completions");

let seq = 0;
let timer = 0;
let shownFor = null; // the prefix whose completions the listbox holds

const box = new Combobox(input, popup, list, {
  reopen: () => update(),
  choose: (option, event) => {
    if (!option) return; // Enter with nothing chosen submits the form as typed
    event.preventDefault();
    input.value = option.dataset.value;
    box.close();
    form.requestSubmit ? form.requestSubmit() : form.submit();
  },
  clear: () => update(),
});

const show = (kind, values, title, prefix) => {
  shownFor = prefix === undefined ? null : prefix;
  box.fill(values.map((value, i) => el("li", { role: "option", id: `q-option-${i}`, "aria-selected": "false", "data-value": value }, value)));
  heading.textContent = title;
  clear.hidden = kind !== "recent";
  if (!values.length) { box.close(); status.textContent = ""; return; }
  box.open();
  status.textContent = `${values.length} ${kind === "recent" ? "recent searches" : "completions"}. Use the up and down arrow keys to choose one.`;
};

function update() {
  clearTimeout(timer);
  seq += 1;
  const prefix = input.value.trim();
  list.removeAttribute("aria-busy");
  if (!prefix) return show("recent", recent.read(), "Recent searches");
  if (prefix === shownFor) return box.options().length && box.open(); // already fetched
  const mine = seq;
  list.setAttribute("aria-busy", "true"); // the list holds an older prefix's completions until these come
  const settled = () => mine === seq && list.removeAttribute("aria-busy");
  timer = setTimeout(() => {
    fetch(`/api/suggest?${new URLSearchParams({ q: prefix })}`, { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((body) => {
        if (mine !== seq) return;
        const found = body && Array.isArray(body.suggestions) ? body.suggestions.filter((s) => typeof s === "string") : [];
        show("completions", found.filter((s) => s !== prefix), "Completions", prefix);
      })
      .catch(() => mine === seq && box.close()) // completions are a help: typing and Enter still work
      .finally(settled);
  }, DEBOUNCE_MS);
}

input.addEventListener("input", update);
input.addEventListener("focus", update);
input.addEventListener("blur", (event) => popup.contains(event.relatedTarget) || box.close());
clear.addEventListener("blur", (event) => event.relatedTarget === input || box.close());
clear.addEventListener("click", () => {
  recent.clear();
  status.textContent = "Recent searches cleared.";
  input.focus();
  show("recent", [], "");
});
form.addEventListener("submit", () => {
  const q = input.value.trim();
  if (q) recent.add(q);
});

// "/" focuses the box, unless the reader is typing somewhere else.
input.setAttribute("aria-keyshortcuts", "/");
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  const target = event.composedPath()[0];
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  event.preventDefault();
  input.focus();
  input.select();
});
})();
