/* <article-search>: the embed widget (/embed.js). An input in the WAI-ARIA combobox pattern over
 * /api/search, in an open shadow root; the combobox itself (class Combobox) is static/combobox.js,
 * the same one the site's own box uses, inlined below when /embed.js is served. Strings from the
 * API or attributes only ever become text or checked attribute values, never markup; highlights
 * are rebuilt from the API's <mark> tags. The default colours follow prefers-color-scheme. */
(() => {
"use strict";
if (!window.customElements || customElements.get("article-search")) return;
/* @include combobox.js */

// currentScript is only set while this file first runs.
const src = (document.currentScript && document.currentScript.src) || location.href;
const HOME = new URL(/\/static\/widget\.js/.test(src) ? "../" : "./", src).href;
const DEBOUNCE_MS = 150;
const MIN_CHARS = 2;
const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };
const CSS = `
:host{display:block}
:host([hidden]),[hidden]{display:none!important}
.w{--t:var(--article-search-text,#1f2933);--u:var(--article-search-muted,#4a5664);--b:var(--article-search-bg,#fff);
 --r:var(--article-search-border,#8592a3);--c:var(--article-search-accent,#1d4ed8);--l:var(--article-search-link,#1d4ed8);
 --hv:var(--article-search-hover-bg,#f4f6f9);--ac:var(--article-search-active-bg,#e8eefc);--mb:var(--article-search-mark-bg,#fde68a);
 --mt:var(--article-search-mark-text,#1f2933);--er:var(--article-search-error,#9f1239);--f:var(--article-search-focus,#f59e0b);
 --rd:var(--article-search-radius,10px)}
.w{all:initial;color-scheme:light;display:block;position:relative;text-align:start;
 font:var(--article-search-font,16px/1.5 system-ui,sans-serif);color:var(--t)}
@media (prefers-color-scheme:dark){.w{color-scheme:dark;--t:var(--article-search-text,#e5e9f0);--u:var(--article-search-muted,#b4bfcc);
 --b:var(--article-search-bg,#0f172a);--r:var(--article-search-border,#64748b);--c:var(--article-search-accent,#60a5fa);
 --l:var(--article-search-link,#93c5fd);--hv:var(--article-search-hover-bg,#1e293b);--ac:var(--article-search-active-bg,#1e3a5f);
 --mb:var(--article-search-mark-bg,#854d0e);--mt:var(--article-search-mark-text,#fef9c3);--er:var(--article-search-error,#fda4af)}}
*{box-sizing:border-box}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
input{display:block;width:100%;margin:0;font:inherit;color:inherit;background:var(--b);
 border:2px solid var(--r);border-radius:var(--rd);padding:.55em .8em}
input:focus{outline:none;border-color:var(--c);box-shadow:0 0 0 3px var(--f)}
.p{position:absolute;left:0;right:0;top:calc(100% + 4px);z-index:var(--article-search-z-index,1000);
 max-height:var(--article-search-max-height,70vh);overflow:auto;padding:.3em;background:var(--b);
 border:1px solid var(--r);border-radius:var(--rd);box-shadow:0 10px 30px #0003}
[role=option]{display:block;padding:.5em .7em;border-radius:6px;color:inherit;text-decoration:none;border-inline-start:3px solid transparent}
[role=option]:hover{background:var(--hv)}
[aria-selected=true]{background:var(--ac);border-color:var(--c)}
.t{display:block;font-weight:600;color:var(--l)}
.s,.m{display:block;font-size:.8em;color:var(--u)}
.x{display:block;font-size:.9em;overflow-wrap:anywhere}
mark{background:var(--mb);color:var(--mt);padding:0 .1em;border-radius:3px}
.m{margin:0;padding:.5em calc(.7em + 3px);font-size:1em}
.e{color:var(--er)}
.a{display:block;padding:.5em calc(.7em + 3px);color:var(--l);font-weight:600}
.a:focus-visible{outline:3px solid var(--f)}`;

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
    this.input = h("input", { id: "i", type: "search", spellcheck: "false", enterkeyhint: "search", part: "input" });
    this.popup = h("div", { class: "p", part: "popup" });
    this.list = h("div", { id: "l", "aria-label": "Search results", part: "listbox" });
    this.message = h("p", { class: "m", part: "message" });
    this.all = h("a", { class: "a", part: "see-all" });
    this.status = h("div", { class: "vh", role: "status" });
    this.popup.append(this.list, this.message, this.all);
    const wrap = h("div", { class: "w", part: "container" });
    wrap.append(this.label, this.input, this.popup, this.status);
    root.append(wrap);
    this.seq = 0;
    this.box = new Combobox(this.input, this.popup, this.list, {
      reopen: () => this.reopen(),
      choose: (option, event) => this.choose(option, event),
      closed: () => this.abort(),
      clear: () => this.close(true),
    });
    this.shown = null; // the query answered in the popup
    this.onShortcut = this.onShortcut.bind(this);
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.list.setAttribute("aria-busy", "true"); // what the list shows is for an older text until search() answers
      this.timer = setTimeout(() => this.search(), DEBOUNCE_MS);
    });
    this.input.addEventListener("focus", () => this.reopen());
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
    if (q.length < MIN_CHARS) { this.list.removeAttribute("aria-busy"); return this.close(true); }
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
    this.sid = body.search_id;
    this.ids = body.results.map((hit) => hit.id);
    const options = [];
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
      options.push(option);
    });
    this.box.fill(options);
    const count = options.length;
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
    this.box.fill([]);
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
    this.box.open();
  }

  close(forget) {
    this.box.close();
    if (forget) { this.shown = null; this.status.textContent = ""; }
  }

  reopen() {
    if (this.query().length < MIN_CHARS) return;
    if (this.shown === this.query()) this.box.open();
    else this.search();
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

  // Enter opens the chosen result, or the full results page when none is chosen.
  choose(option, event) {
    if (option) this.opened(option);
    if (event.type === "click") return; // a click follows the link itself (new tab with Ctrl too)
    const href = option ? option.href : this.pageUrl();
    if (href) { event.preventDefault(); this.go(href); }
  }
}

customElements.define("article-search", ArticleSearch);
})();
