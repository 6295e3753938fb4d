/* In a portal's frame: posts {source: "cognito-reset", type: "resize" | "done" | "sign-in"}
   to the parent, only to FRAME_ANCESTORS origins, never "*". Format: docs/embedding.md */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.parent === window) { return; }
  var allowed = (script.getAttribute("data-origins") || "").split(" ").filter(Boolean);
  // The parent's origin where the browser tells it; elsewhere every allowed origin (the
  // browser delivers a message only if its target origin is the parent's).
  var parents = location.ancestorOrigins;
  var targets = allowed;
  if (parents && parents.length && parents[0] !== "null") {
    targets = allowed.indexOf(parents[0]) >= 0 ? [parents[0]] : [];
  }
  if (!targets.length) { return; }
  var root = document.documentElement;
  root.classList.add("framed");

  function send(message) {
    message.source = "cognito-reset";
    for (var i = 0; i < targets.length; i++) {
      try { window.parent.postMessage(message, targets[i]); } catch (e) { /* a bad origin: skip */ }
    }
  }

  var last = -1;
  function resize() {
    var height = Math.ceil(root.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      send({ type: "resize", height: height });
    }
  }
  if (window.ResizeObserver) { new ResizeObserver(resize).observe(root); }
  else { window.addEventListener("resize", resize); window.addEventListener("load", resize); }
  resize();

  var main = document.getElementById("main");
  if (main && main.getAttribute("data-portal-event") === "done") { send({ type: "done" }); }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-sign-in]") : null;
    if (link) { send({ type: "sign-in", url: link.href }); }
  });
})();
