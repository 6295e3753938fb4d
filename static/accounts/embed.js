/* In a portal's frame: messages to the parent; the form's cookies. docs/embedding.md */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.parent === window) { return; }
  var allowed = (script.getAttribute("data-origins") || "").split(" ").filter(Boolean);
  var parents = location.ancestorOrigins; // not in Firefox: every allowed origin then
  var targets = allowed;
  if (parents && parents.length && parents[0] !== "null") {
    targets = allowed.indexOf(parents[0]) >= 0 ? [parents[0]] : [];
  }
  if (!targets.length) { return; }
  var root = document.documentElement;
  root.classList.add("framed");

  // Safari refuses the form's cookies in another site's frame: frame-blocked.js, with
  // the emailed link's values from the fragment (views.reset).
  var hash = location.hash.slice(1);
  if (document.querySelector("form[method=post]")) {
    var check = "cookie-check=1; Path=/; Secure; SameSite=None; Partitioned";
    document.cookie = check;
    if (document.cookie.indexOf("cookie-check=1") < 0) {
      return location.replace("/reset/blocked/" + location.search + "#path=" + location.pathname + "&" + hash);
    }
    document.cookie = check + "; Max-Age=0";
  }
  if (hash && !document.getElementById("frame-open")) {
    history.replaceState(null, "", location.pathname + location.search);
  }

  function send(message) {
    message.source = "cognito-reset";
    targets.forEach(function (origin) {
      try { window.parent.postMessage(message, origin); } catch (e) { /* a bad origin */ }
    });
  }
  var last = -1;
  new ResizeObserver(function () {
    var height = Math.ceil(root.getBoundingClientRect().height);
    if (height !== last) { last = height; send({ type: "resize", height: height }); }
  }).observe(root);
  var main = document.getElementById("main");
  if (main && main.getAttribute("data-portal-event") === "done") { send({ type: "done" }); }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-sign-in]");
    if (link) { send({ type: "sign-in", url: link.href }); }
  });
})();
