/* "Cite this answer": each Copy button copies its citation's text (no inline script: the page's CSP forbids it).
   The Clipboard API needs a secure context (https or localhost); elsewhere a hidden textarea and execCommand do it. */
(function () {
  "use strict";

  function copyBySelection(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-scratch";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return copyBySelection(text); }
      );
    }
    return Promise.resolve(copyBySelection(text));
  }

  function announce(button, copied) {
    var name = button.getAttribute("data-label") || "The";
    var status = document.querySelector(".citations .copy-status");
    if (status) {
      status.textContent = copied ? name + " citation copied." : "Could not copy: select the " + name + " text and copy it.";
    }
    var label = button.querySelector(".copy-label");
    if (label) {
      label.textContent = copied ? "Copied" : "Copy";
    }
    button.classList.toggle("copied", copied);
  }

  function onClick(event) {
    var button = event.target.closest("button[data-copy]");
    var target = button && document.getElementById(button.getAttribute("data-copy"));
    if (!target) {
      return;
    }
    copy(target.textContent).then(function (copied) { announce(button, copied); });
  }

  function start() {
    var buttons = document.querySelectorAll(".citations button[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;  // only once they can work
    }
    document.addEventListener("click", onClick);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
