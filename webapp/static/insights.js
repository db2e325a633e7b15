/* Which result was opened from a search, for /admin/insights. A result link keeps its real href
 * and names its click in a `ping` attribute, which browsers that allow pings send without any
 * script. Here, where script runs, that is sent with navigator.sendBeacon instead (browsers that
 * turn pings off send beacons), and the ping attribute is dropped so a click counts once. */
(() => {
"use strict";
if (!navigator.sendBeacon) return;
const links = document.querySelectorAll("a[ping]");
for (const link of links) {
  link.dataset.click = link.getAttribute("ping");
  link.removeAttribute("ping");
}
const send = (event) => {
  const link = event.target instanceof Element && event.target.closest("a[data-click]");
  if (!link || (event.type === "auxclick" && event.button !== 1)) return;
  navigator.sendBeacon(link.dataset.click);
};
document.addEventListener("click", send, true);
document.addEventListener("auxclick", send, true); // a middle click opens a new tab
})();
