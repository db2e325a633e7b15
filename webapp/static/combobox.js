/* The WAI-ARIA combobox (list autocomplete) that both search boxes share: the site's own box
 * (static/search-box.js) and the <article-search> widget (static/widget.js, which gets this file
 * inlined when /embed.js is served, so other sites still load one script). It owns the ARIA
 * state and the keys; what the options are, and what choosing one does, belong to its user. */
class Combobox {
  /* input: the text box; popup: what opens and closes; list: the listbox (inside popup).
   * hooks.reopen(): Down Arrow on a closed box; hooks.choose(option|null, event): Enter or a click;
   * hooks.clear(): Escape on a closed box that still holds text. */
  constructor(input, popup, list, hooks) {
    this.input = input;
    this.popup = popup;
    this.list = list;
    this.hooks = hooks;
    this.active = -1;
    for (const [name, value] of Object.entries({
      role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": list.id, autocomplete: "off",
    })) input.setAttribute(name, value);
    list.setAttribute("role", "listbox");
    popup.hidden = true;
    input.addEventListener("keydown", (event) => this.onKey(event));
    popup.addEventListener("mousedown", (event) => event.target.closest("button") || event.preventDefault()); // keep focus
    list.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.hooks.choose(option, event);
    });
  }

  options() { return this.list.querySelectorAll("[role=option]"); }

  get isOpen() { return !this.popup.hidden; }

  // The focus is in the box or its popup (the root node also sees inside a shadow root).
  focused() {
    const active = this.input.getRootNode().activeElement;
    return active === this.input || this.popup.contains(active);
  }

  open() {
    if (!this.focused()) return; // the reader has left: stay closed
    this.list.hidden = !this.options().length;
    this.popup.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    this.popup.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.select(-1);
  }

  // Replace the options; none is chosen until an arrow key chooses one.
  fill(options) {
    this.select(-1);
    this.list.replaceChildren(...options);
  }

  select(index) {
    const options = this.options();
    if (options[this.active]) options[this.active].setAttribute("aria-selected", "false");
    this.active = index;
    const option = options[index];
    if (option) {
      option.setAttribute("aria-selected", "true");
      this.input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else this.input.removeAttribute("aria-activedescendant");
  }

  chosen() { return (this.isOpen && this.options()[this.active]) || null; }

  onKey(event) {
    const count = this.options().length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!this.isOpen) return this.hooks.reopen();
      if (!count) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      const from = this.active < 0 ? (step > 0 ? -1 : count) : this.active;
      this.select((from + step + count) % count);
    } else if (event.key === "Enter" && !event.isComposing) {
      this.hooks.choose(this.chosen(), event);
    } else if (event.key === "Escape") {
      if (this.isOpen) { event.preventDefault(); this.close(); this.hooks.closed && this.hooks.closed(); }
      else if (this.input.value) { event.preventDefault(); this.input.value = ""; this.hooks.clear(); }
    }
  }
}
