// Framed in the town's own website, the portal tells that page how tall it is, so the frame grows with
// the form and never scrolls inside a scrolling page. The message goes only to the origins the town
// listed (the same list the browser checks through frame-ancestors); to any other parent it is dropped.
(function () {
  "use strict";
  if (window.parent === window) return;
  var origins = (document.documentElement.getAttribute("data-embed-origins") || "").split(/\s+/).filter(Boolean);
  var last = 0;
  function tell() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    origins.forEach(function (origin) {
      window.parent.postMessage({ type: "citizen-portal:height", height: height }, origin);
    });
  }
  if ("ResizeObserver" in window) new ResizeObserver(tell).observe(document.documentElement);
  window.addEventListener("load", tell);
  tell();
})();
