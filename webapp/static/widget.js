/* <article-search>: the embed widget (/embed.js). An input in the WAI-ARIA combobox pattern over
 * /api/search, in an open shadow root. Strings from the API or attributes only ever become text
 * or checked attribute values, never markup; highlights are rebuilt from the API's <mark> tags. */
(() => {
"use strict";
if (!window.customElements || customElements.get("article-search")) return;

// currentScript is only set while this file first runs.
const src = (document.currentScript && document.currentScript.src) || location.href;
const HOME = new URL(/\/static\/widget\.js/.test(src) ? "../" : "./", src).href;
const DEBOUNCE_MS = 150;
const MIN_CHARS = 2;
const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };
const CSS = `
:host{display:block}
:host([hidden]),[hidden]{display:none!important}
.w{all:initial;display:block;position:relative;text-align:start;
 font:var(--article-search-font,16px/1.5 system-ui,sans-serif);color:var(--article-search-text,#1f2933)}
*{box-sizing:border-box}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
input{display:block;width:100%;margin:0;font:inherit;color:inherit;background:var(--article-search-bg,#fff);
 border:2px solid var(--article-search-border,#8592a3);border-radius:var(--article-search-radius,10px);padding:.55em .8em}
input:focus{outline:none;border-color:var(--article-search-accent,#1d4ed8);box-shadow:0 0 0 3px var(--article-search-focus,#f59e0b)}
.p{position:absolute;left:0;right:0;top:calc(100% + 4px);z-index:var(--article-search-z-index,1000);
 max-height:var(--article-search-max-height,70vh);overflow:auto;padding:.3em;background:var(--article-search-bg,#fff);
 border:1px solid var(--article-search-border,#8592a3);border-radius:var(--article-search-radius,10px);box-shadow:0 10px 30px #0003}
[role=option]{display:block;padding:.5em .7em;border-radius:6px;color:inherit;text-decoration:none;border-inline-start:3px solid transparent}
[role=option]:hover{background:var(--article-search-hover-bg,#f4f6f9)}
[aria-selected=true]{background:var(--article-search-active-bg,#e8eefc);border-color:var(--article-search-accent,#1d4ed8)}
.t{display:block;font-weight:600;color:var(--article-search-link,#1d4ed8)}
.s,.m{display:block;font-size:.8em;color:var(--article-search-muted,#4a5664)}
.x{display:block;font-size:.9em;overflow-wrap:anywhere}
mark{background:var(--article-search-mark-bg,#fde68a);color:var(--article-search-mark-text,#1f2933);padding:0 .1em;border-radius:3px}
.m{margin:0;padding:.5em calc(.7em + 3px);font-size:1em}
.e{color:var(--article-search-error,#9f1239)}
.a{display:block;padding:.5em calc(.7em + 3px);color:var(--article-search-link,#1d4ed8);font-weight:600}
.a:focus-visible{outline:3px solid var(--article-search-focus,#f59e0b)}`;

// An element; attribute values are never parsed as markup.
const h = (tag, attrs, text) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
};

const decode = (text) => text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name) => {
  if (name[0] !== "#") return ENTITIES[name.toLowerCase()] || whole;
  const code = /x/i.test(name[1]) ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
  return code > 0 && code < 0x110000 && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : "\ufffd";
});

// Fill node from escaped text plus <mark>: only <mark> becomes an element.
const marked = (node, html) => {
  let inMark = false;
  for (const part of String(html == null ? "" : html).split(/(<\/?mark>)/i)) {
    if (/^<mark>$/i.test(part)) inMark = true;
    else if (/^<\/mark>$/i.test(part)) inMark = false;
    else if (part) node.append(inMark ? h("mark", null, decode(part)) : decode(part));
  }
  return node;
};

// An absolute http(s) url, or "" (javascript:, junk); a list value repeats its parameter.
const safeUrl = (path, base, params) => {
  try {
    const url = new URL(String(path), base);
    if (!/^https?:$/.test(url.protocol)) return "";
    for (const [name, value] of Object.entries(params || {})) for (const one of [].concat(value)) one && url.searchParams.append(name, one);
    return url.href;
  } catch (error) {
    return "";
  }
};

const TAB = [...crypto.getRandomValues(new Uint8Array(9))].map((b) => b.toString(36)).join(""); // analytics: one run of typing=1

const plural = (n) => `${n} result${n === 1 ? "" : "s"}`;

class ArticleSearch extends HTMLElement {
  static observedAttributes = ["api-base", "label", "placeholder", "results", "subject", "year", "sort", "shortcut", "target", "timeout"];

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open", delegatesFocus: true });
    if (root.adoptedStyleSheets && window.CSSStyleSheet && "replaceSync" in CSSStyleSheet.prototype) {
      const sheet = new CSSStyleSheet(); // no 'unsafe-inline' needed in the host's CSP
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else root.append(h("style", null, CSS));
    this.label = h("label", { for: "i", class: "vh", part: "label" });
    this.input = h("input", {
      id: "i", type: "search", role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
      "aria-controls": "l", autocomplete: "off", spellcheck: "false", enterkeyhint: "search", part: "input",
    });
    this.popup = h("div", { class: "p", part: "popup", hidden: "" });
    this.list = h("div", { id: "l", role: "listbox", "aria-label": "Search results", part: "listbox" });
    this.message = h("p", { class: "m", part: "message" });
    this.all = h("a", { class: "a", part: "see-all" });
    this.status = h("div", { class: "vh", role: "status" });
    this.popup.append(this.list, this.message, this.all);
    const wrap = h("div", { class: "w", part: "container" });
    wrap.append(this.label, this.input, this.popup, this.status);
    root.append(wrap);
    this.seq = 0;
    this.active = -1;
    this.shown = null; // the query answered in the popup
    this.onShortcut = this.onShortcut.bind(this);
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.search(), DEBOUNCE_MS);
    });
    this.input.addEventListener("keydown", (event) => this.onKey(event));
    this.input.addEventListener("focus", () => this.reopen());
    this.list.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus
    this.list.addEventListener("click", (event) => this.opened(event.target.closest("[role=option]")));
    root.addEventListener("focusout", (event) => root.contains(event.relatedTarget) || this.close());
    this.render();
  }

  connectedCallback() { this.render(); }

  disconnectedCallback() { this.render(); clearTimeout(this.timer); this.abort(); }

  attributeChangedCallback() { this.render(); }

  attr(name) { return this.getAttribute(name) || ""; }

  number(name, fallback, low, high) {
    const value = parseInt(this.attr(name), 10);
    return Number.isFinite(value) ? Math.min(Math.max(value, low), high) : fallback;
  }

  render() {
    const label = this.attr("label") || "Search articles";
    this.label.textContent = label;
    this.input.placeholder = this.attr("placeholder") || label;
    const key = this.shortcutKey();
    if (key) this.input.setAttribute("aria-keyshortcuts", key);
    else this.input.removeAttribute("aria-keyshortcuts");
    // Listen on the document only while a shortcut is asked for.
    const listen = this.isConnected && Boolean(key);
    if (listen !== Boolean(this.listening)) {
      document[listen ? "addEventListener" : "removeEventListener"]("keydown", this.onShortcut);
      this.listening = listen;
    }
  }

  base() {
    const raw = this.attr("api-base");
    const url = raw && safeUrl(raw, location.href);
    if (raw && !url) console.warn("article-search: api-base must be an http(s) url; using", HOME);
    return url ? url.replace(/[?#].*$/, "").replace(/\/?$/, "/") : HOME;
  }

  target() {
    const value = this.attr("target");
    return ["_blank", "_top", "_parent"].includes(value) ? value : "_self";
  }

  shortcutKey() {
    const key = this.attr("shortcut");
    return [...key].length === 1 && key.trim() ? key : "";
  }

  onShortcut(event) {
    if (event.key !== this.shortcutKey() || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    const target = event.composedPath()[0];
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    event.preventDefault();
    this.input.focus();
  }

  query() { return this.input.value.trim(); }

  // subject and year may list several, comma-separated.
  filters() {
    const list = (name) => this.attr(name).split(",").map((v) => v.trim());
    return { subject: list("subject"), year: list("year"), sort: this.attr("sort") === "newest" && "newest" };
  }

  pageUrl() {
    return this.query() && safeUrl("search", this.base(), { q: this.query(), ...this.filters() });
  }

  abort() {
    this.seq += 1; // any answer still on its way is now stale
    if (this.controller) this.controller.abort();
    clearTimeout(this.deadline);
  }

  search() {
    const q = this.query();
    this.abort();
    if (q.length < MIN_CHARS) return this.close(true);
    const seq = this.seq;
    const controller = (this.controller = new AbortController());
    let late = false;
    this.deadline = setTimeout(() => { late = true; controller.abort(); }, this.number("timeout", 8000, 500, 60000));
    const per_page = String(this.number("results", 5, 1, 20));
    const url = safeUrl("api/search", this.base(), { q, per_page, ...this.filters(), typing: "1", tab: TAB });
    this.list.setAttribute("aria-busy", "true");
    fetch(url, { signal: controller.signal, credentials: "omit", headers: { Accept: "application/json" } })
      .then((response) => response.json().then((body) => [response, body], () => [response, null]))
      .then(([response, body]) => {
        if (seq !== this.seq) return;
        if (response.ok && body && body.ok === true && Array.isArray(body.results)) this.show(q, body);
        else this.fail(response.status, url);
      })
      .catch(() => seq === this.seq && this.fail(late ? "timeout" : "network", url))
      .finally(() => seq === this.seq && this.list.removeAttribute("aria-busy"));
  }

  show(q, body) {
    const base = this.base();
    const target = this.target();
    this.select(-1);
    this.list.replaceChildren();
    this.sid = body.search_id;
    this.ids = body.results.map((hit) => hit.id);
    body.results.forEach((hit, i) => {
      const href = safeUrl(hit.url, base, { q });
      if (!href) return;
      const option = h("a", {
        role: "option", id: `o${i}`, href, target, tabindex: "-1", "aria-selected": "false",
        "aria-describedby": `o${i}x`, part: "option",
      });
      if (target === "_blank") option.rel = "noopener";
      option.append(
        marked(h("span", { class: "t", part: "title" }), hit.title_html),
        h("span", { class: "s", part: "subject" }, String(hit.subject || "")),
        // Named by title and subject; the snippet describes it.
        marked(h("span", { class: "x", id: `o${i}x`, "aria-hidden": "true", part: "snippet" }), hit.snippet_html),
      );
      this.list.append(option);
    });
    const count = this.list.children.length;
    const total = Number(body.total) || count;
    let text = count ? "" : `No results for “${q}”.`;
    if (!count && body.suggestion) text += ` Did you mean “${body.suggestion}”?`;
    this.shown = q;
    this.say(text, false, total ? `See all ${plural(total)}` : "Open the full search page");
    if (count) this.status.textContent = `${count} of ${plural(total)}. Use the up and down arrow keys to choose one.`;
  }

  fail(reason, url) {
    const host = new URL(this.base()).host;
    let text = `Search is not working right now (error ${reason}). Try again in a moment.`;
    if (reason === "timeout") text = "Search is taking too long. Keep typing to try again.";
    else if (reason === 400) text = "Search could not understand that. Try other words.";
    else if (reason === "network") {
      text = `Search is unavailable here: ${host} could not be reached from this page.`;
      console.warn(`article-search: ${url} failed: the server is down, or does not allow ${location.origin} ` +
        "(add it to ARTICLE_SEARCH_CORS_ORIGINS there).");
    }
    this.select(-1);
    this.list.replaceChildren();
    this.shown = null;
    this.say(text, true, `Search on ${host} instead`);
  }

  // Show a message (or none) and the link to the full results, then open the popup.
  say(text, isError, link) {
    this.message.textContent = this.status.textContent = text;
    this.message.hidden = !text;
    this.message.classList.toggle("e", isError);
    this.all.href = this.pageUrl();
    this.all.target = this.target();
    this.all.textContent = link;
    this.open();
  }

  open() {
    if (!this.shadowRoot.activeElement) return; // the reader has left: stay closed
    this.list.hidden = !this.list.children.length;
    this.popup.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close(forget) {
    this.popup.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.select(-1);
    if (forget) { this.shown = null; this.status.textContent = ""; }
  }

  reopen() {
    if (this.query().length < MIN_CHARS) return;
    if (this.shown === this.query()) this.open();
    else this.search();
  }

  select(index) {
    const options = this.list.children;
    if (options[this.active]) options[this.active].setAttribute("aria-selected", "false");
    this.active = index;
    const option = options[index];
    if (option) {
      option.setAttribute("aria-selected", "true");
      this.input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else this.input.removeAttribute("aria-activedescendant");
  }

  opened(o) { // which result of which search was opened, for analytics; the link is unchanged
    const i = o && +o.id.slice(1);
    if (o && this.sid) navigator.sendBeacon(safeUrl("api/click", this.base(), { search: this.sid, position: i + 1, article: this.ids[i] }));
  }

  go(href) {
    const target = this.target();
    if (target === "_self") location.assign(href);
    else window.open(href, target, target === "_blank" ? "noopener" : "");
  }

  onKey(event) {
    const count = this.list.children.length;
    const isOpen = !this.popup.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!isOpen) return this.reopen();
      if (!count) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      const from = this.active < 0 ? (step > 0 ? -1 : count) : this.active;
      this.select((from + step + count) % count);
    } else if (event.key === "Enter" && !event.isComposing) {
      const option = isOpen && this.list.children[this.active];
      const href = option ? option.href : this.pageUrl();
      if (option) this.opened(option);
      if (href) { event.preventDefault(); this.go(href); }
    } else if (event.key === "Escape") {
      if (isOpen) { event.preventDefault(); this.abort(); this.close(); }
      else if (this.input.value) { event.preventDefault(); this.input.value = ""; this.close(true); }
    }
  }
}

customElements.define("article-search", ArticleSearch);
})();
