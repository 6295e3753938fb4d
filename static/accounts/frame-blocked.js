/* The form can't work in this frame: the browser refuses its cookies. Ask for them with
   the Storage Access API where there is one; always offer the form in a new tab, with
   the emailed link's values, which embed.js passed in the fragment. docs/embedding.md */
(function () {
  "use strict";
  if (window.parent === window) { return location.replace("/reset/"); } // not in a frame
  var given = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, "", location.pathname);
  var query = new URLSearchParams();
  ["username", "code", "lang", "next"].forEach(function (name) {
    if (given.get(name)) { query.set(name, given.get(name)); }
  });
  var target = (given.get("path") === "/forgot/" ? "/forgot/" : "/reset/") +
    (query.toString() ? "?" + query : "");
  var open = document.getElementById("frame-open");
  var allow = document.getElementById("frame-allow");
  open.href = target;

  function cookiesWork() {
    document.cookie = "cookie-check=1; Path=/; Secure; SameSite=None; Partitioned";
    var works = /(^|; )cookie-check=1/.test(document.cookie);
    document.cookie = "cookie-check=; Path=/; Secure; SameSite=None; Partitioned; Max-Age=0";
    return works;
  }
  function refused() {
    allow.parentNode.hidden = true;
    document.getElementById("frame-refused").hidden = false;
    open.classList.add("primary");
    open.focus();
  }
  if (!document.requestStorageAccess) { open.classList.add("primary"); return; }
  allow.parentNode.hidden = false;
  allow.addEventListener("click", function () {
    document.requestStorageAccess().then(function () {
      if (cookiesWork()) { location.replace(target); } else { refused(); }
    }, refused);
  });
})();
