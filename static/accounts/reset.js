/* Progressive enhancement for the site's forms. Every form works without it,
   and the server checks everything this script checks. */
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.classList.add("js");

  var summary = doc.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // One submission per form: a second click or Enter while the first is on its way does nothing.
  var forms = doc.querySelectorAll("form[data-busy-label]");
  function idle() {
    for (var i = 0; i < forms.length; i++) {
      var button = forms[i].querySelector("[type=submit]");
      forms[i].removeAttribute("data-busy");
      if (button && button.hasAttribute("data-label")) {
        button.disabled = false;
        button.textContent = button.getAttribute("data-label");
      }
    }
  }
  for (var f = 0; f < forms.length; f++) {
    forms[f].addEventListener("submit", function (event) {
      var form = event.currentTarget;
      if (form.hasAttribute("data-busy")) { event.preventDefault(); return; }
      form.setAttribute("data-busy", "");
      var label = form.getAttribute("data-busy-label");
      var button = form.querySelector("[type=submit]");
      if (button) {
        button.setAttribute("data-label", button.textContent);
        button.textContent = label;
        button.disabled = true;
      }
      var status = form.querySelector(":scope > [role=status]");
      if (status) { status.textContent = label; }
    });
  }
  // Back to a page kept in the back-forward cache: make it usable again.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { idle(); } });

  // With JavaScript, forms[data-background] are sent in the background (fetch), so that
  // nothing typed is lost, passwords included: they stay in this page's memory and fields.
  // Success follows the redirect. "Busy for everyone" (503 with #retry-line) counts down
  // politely and sends again by itself; every other answer is shown as it came (its <main>
  // replaces ours, and this script runs again on it), with the passwords put back. One
  // listener for the page's whole life: the first run of this script adds it.
  var root = doc.documentElement;
  var source = doc.currentScript && doc.currentScript.src;
  if (source && window.fetch && window.DOMParser && !root.hasAttribute("data-sends")) {
    root.setAttribute("data-sends", "");
    doc.addEventListener("submit", sendInBackground);
  }
  var countdown = 0;

  function sendInBackground(event) {
    var sent = event.target;
    if (event.defaultPrevented || !sent.hasAttribute("data-background")) { return; }
    event.preventDefault();
    clearTimeout(countdown);
    var kept = {};
    var secret = sent.querySelectorAll("input[autocomplete=new-password]");
    for (var i = 0; i < secret.length; i++) { kept[secret[i].name] = secret[i].value; }
    fetch(sent.action, {
      method: "POST", body: new URLSearchParams(new FormData(sent)), credentials: "same-origin"
    }).then(function (response) {
      if (response.redirected) { return location.assign(response.url); }
      return response.text().then(function (html) { answered(sent, response, html, kept); });
    }).catch(function () { HTMLFormElement.prototype.submit.call(sent); });
  }

  function answered(sent, response, html, kept) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var main = page.getElementById("main");
    var line = page.getElementById("retry-line");
    var seconds = parseInt(response.headers.get("Retry-After") ||
      (line && line.getAttribute("data-retry-after")), 10);
    var busy = response.status === 503 && line && seconds > 0;
    if (!main) { return doc.replaceChild(doc.importNode(page.documentElement, true), root); }
    if (busy && doc.getElementById("retry-line")) {
      // Busy again: say when, once, politely; keep the page (and its focus) as it is.
      ready(sent);
      wait(seconds, true);
      return;
    }
    doc.title = page.title;
    var old = doc.getElementById("main");
    old.parentNode.replaceChild(doc.importNode(main, true), old);
    var restored = false;
    for (var name in kept) {
      var field = doc.querySelector("#main [name='" + name + "']");
      if (field) { field.value = kept[name]; restored = restored || kept[name] !== ""; }
    }
    if (restored) { notEmptied(); }
    toSummary();  // at once, with the new <main>: not when the script below has loaded
    if (busy) { wait(seconds, false); }
    var again = doc.createElement("script");
    again.src = source;  // binds the checklist, show/hide and focus to the new <main>
    doc.head.appendChild(again);
  }

  // The server's answer says "type it again": it never sends a password back. This page
  // kept them, so that text would be false: drop it, and the field's pointer to it.
  function notEmptied() {
    var note = doc.getElementById("retype");
    if (note) { note.parentNode.removeChild(note); }
    var fields = doc.querySelectorAll("#main [aria-describedby~=retype]");
    for (var i = 0; i < fields.length; i++) {
      var ids = fields[i].getAttribute("aria-describedby").split(" ").filter(function (id) {
        return id && id !== "retype";
      });
      fields[i].setAttribute("aria-describedby", ids.join(" "));
    }
  }

  function ready(sent) {
    var button = sent.querySelector("[type=submit]");
    sent.removeAttribute("data-busy");
    if (button && button.hasAttribute("data-label")) {
      button.disabled = false;
      button.textContent = button.getAttribute("data-label");
    }
    toSummary();
  }

  // Focus on the error summary, unless the person has moved it elsewhere meanwhile.
  function toSummary() {
    var summary = doc.getElementById("error-summary");
    if (summary && doc.activeElement === doc.body) { summary.focus(); }
  }

  // "We'll try again in 7 seconds": counts down on the page every second, hidden from
  // screen readers, who hear the sentence once: in the error summary the first time,
  // then from the form's polite status line. Then it sends the form again.
  function wait(seconds, repeat) {
    var line = doc.getElementById("retry-line");
    var template = line.getAttribute("data-t-retry");
    var left = seconds;
    function when(n) {
      try {
        return new Intl.RelativeTimeFormat(root.lang, { numeric: "always" }).format(n, "second");
      } catch (e) { return n + " s"; }
    }
    var shown = line.querySelector("[aria-hidden]");
    if (!shown) {
      var said = doc.createElement("span");
      said.className = "vh";
      said.textContent = template.replace("%(when)s", when(left));
      shown = doc.createElement("span");
      shown.setAttribute("aria-hidden", "true");
      line.textContent = "";
      line.appendChild(said);
      line.appendChild(shown);
    }
    shown.textContent = template.replace("%(when)s", when(left));
    var status = doc.querySelector("form[data-background] > [role=status]");
    if (repeat && status) { status.textContent = shown.textContent; }
    function tick() {
      left -= 1;
      if (left > 0) {
        shown.textContent = template.replace("%(when)s", when(left));
        countdown = setTimeout(tick, 1000);
        return;
      }
      var form = doc.querySelector("form[data-background]");
      if (form && form.requestSubmit) { form.requestSubmit(); } else if (form) { form.submit(); }
    }
    countdown = setTimeout(tick, 1000);
  }

  var form = doc.getElementById("reset-form");
  if (!form) { return; }
  function text(key) { return form.getAttribute("data-t-" + key) || ""; }
  function field(name) { return form.querySelector("[name=" + name + "]"); }
  var username = field("username");
  var code = field("code");
  var pw1 = field("new_password1");
  var pw2 = field("new_password2");
  var rulesStatus = doc.getElementById("rules-status");
  var matchHint = doc.getElementById("match-hint");

  function unicodeRe(source, fallback) {
    try { return new RegExp(source, "u"); } catch (e) { return fallback; }
  }
  // Mirrors accounts/policy.py: password_space_problem, has_symbol, normalize_code and too_similar.
  var SPACE = unicodeRe("[\\s\\x1c-\\x1f\\x85]", /[\s\x1c-\x1f\x85]/);
  var SPACES = new RegExp(SPACE.source, SPACE.flags + "g");
  var DIGITS_AND_DASHES = unicodeRe("^[\\p{Nd}-]+$", /^[0-9-]+$/);
  var NON_WORD = unicodeRe("[^\\p{L}\\p{N}_]+", /\W+/);
  var SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-";

  // Cognito refuses whitespace at either end and counts an inner space as a symbol;
  // inside, only the ordinary space is accepted (as the server does).
  function spaceProblem(value) {
    var chars = Array.from(value);
    if (!chars.length) { return ""; }
    if (SPACE.test(chars[0]) || SPACE.test(chars[chars.length - 1])) { return "edge"; }
    for (var i = 1; i < chars.length - 1; i++) {
      if (chars[i] !== " " && SPACE.test(chars[i])) { return "other"; }
    }
    return "";
  }

  function normalizeCode(value) {
    var compact = value.replace(SPACES, "");
    return DIGITS_AND_DASHES.test(compact) ? compact.replace(/-/g, "") : compact;
  }

  // difflib.SequenceMatcher(None, a, b).ratio(); without junk, as for inputs under 200 characters.
  function ratio(a, b) {
    var where = {};
    for (var j = 0; j < b.length; j++) { (where[b[j]] = where[b[j]] || []).push(j); }
    function matched(alo, ahi, blo, bhi) {
      var besti = alo, bestj = blo, size = 0, lengths = {};
      for (var i = alo; i < ahi; i++) {
        var next = {}, js = where[a[i]] || [];
        for (var k = 0; k < js.length; k++) {
          var jj = js[k];
          if (jj < blo) { continue; }
          if (jj >= bhi) { break; }
          var n = next[jj] = (lengths[jj - 1] || 0) + 1;
          if (n > size) { besti = i - n + 1; bestj = jj - n + 1; size = n; }
        }
        lengths = next;
      }
      if (!size) { return 0; }
      return size + matched(alo, besti, blo, bestj) + matched(besti + size, ahi, bestj + size, bhi);
    }
    var total = a.length + b.length;
    return total ? 2 * matched(0, a.length, 0, b.length) / total : 1;
  }
  function tooSimilar(password, name) {
    if (!password || !name) { return false; }
    var lowered = Array.from(password.toLowerCase());
    var parts = name.split(NON_WORD).concat([name]);
    for (var i = 0; i < parts.length; i++) {
      var part = Array.from(parts[i].toLowerCase());
      if (!part.length) { continue; }
      // As Django's UserAttributeSimilarityValidator: skip values that cannot be similar.
      if (lowered.length >= 10 * part.length && part.length < 0.35 * lowered.length) { continue; }
      if (ratio(lowered, part) >= 0.7) { return true; }
    }
    return false;
  }

  var common = [];
  try { common = JSON.parse(doc.getElementById("common-passwords").textContent) || []; } catch (e) { /* optional */ }
  var min = parseInt(form.getAttribute("data-min"), 10) || 8;
  var checks = {
    length: function (v) { return Array.from(v).length >= min; },
    lowercase: function (v) { return /[a-z]/.test(v); },
    uppercase: function (v) { return /[A-Z]/.test(v); },
    number: function (v) { return /[0-9]/.test(v); },
    symbol: function (v) {
      for (var i = 0; i < v.length; i++) { if (SYMBOLS.indexOf(v[i]) >= 0) { return true; } }
      return Array.from(v).slice(1, -1).indexOf(" ") >= 0;
    },
    nospace: function (v) { return v.length > 0 && !spaceProblem(v); },
    common: function (v) { return v.length > 0 && common.indexOf(v.toLowerCase()) < 0; },
    similar: function (v) { return v.length > 0 && !tooSimilar(v, username ? username.value.trim() : ""); }
  };

  // The checklist: each rule ticks as it is met; screen readers hear a short summary,
  // once typing pauses and only when the number of met rules has changed.
  var rules = form.querySelectorAll("#password-rules [data-rule]");
  var states = [];
  for (var r = 0; r < rules.length; r++) {
    var state = doc.createElement("span");
    state.className = "vh";
    rules[r].appendChild(state);
    states.push(state);
  }
  // Negative rules tick only once the positive ones are met: no false progress. The list
  // shows only what the password in the field meets: an emptied field meets nothing.
  var NEGATIVE = { nospace: 1, common: 1, similar: 1 };
  var announced = 0, timer = 0;
  function tick() {
    var value = pw1.value, met = 0, positive = true, i, rule;
    for (i = 0; i < rules.length; i++) {
      rule = rules[i].getAttribute("data-rule");
      if (!NEGATIVE[rule] && !(checks[rule] && checks[rule](value))) { positive = false; }
    }
    for (i = 0; i < rules.length; i++) {
      rule = rules[i].getAttribute("data-rule");
      var ok = (positive || !NEGATIVE[rule]) && !!checks[rule] && checks[rule](value);
      rules[i].classList.toggle("met", ok);
      states[i].textContent = " (" + text(ok ? "met" : "unmet") + ")";
      if (ok) { met++; }
    }
    return met;
  }
  function announce() {
    var met = tick();
    if (met === announced) { return; }
    announced = met;
    rulesStatus.textContent = met === rules.length ? text("all")
      : text("count").replace("%(met)s", met).replace("%(total)s", rules.length);
  }
  function later() {
    tick();
    clearTimeout(timer);
    timer = setTimeout(announce, 900);
  }

  // "Passwords match", once the second field has something in it.
  var left = false;
  function match() {
    var a = pw1.value, b = pw2.value, say = "", kind = "";
    if (b && a === b) { say = text("match"); kind = "ok"; }
    else if (b && (left || b.length >= a.length)) { say = text("nomatch"); kind = "no"; }
    if (matchHint.textContent !== say) {
      matchHint.textContent = say;
      matchHint.className = "match " + kind;
    }
  }

  // Show/hide: changes only the input's type, never its value. The label says what
  // the next press does.
  function addToggle(input) {
    var label = form.querySelector("label[for='" + input.id + "']");
    var wrap = doc.createElement("div");
    wrap.className = "pw";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    var button = doc.createElement("button");
    button.type = "button";
    button.className = "toggle";
    button.setAttribute("aria-controls", input.id);
    var verb = doc.createTextNode(text("show"));
    var name = doc.createElement("span");
    name.className = "vh";
    name.textContent = " " + (label ? label.textContent : "");
    button.appendChild(verb);
    button.appendChild(name);
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      verb.nodeValue = text(show ? "hide" : "show");
      button.classList.toggle("shown", show);
    });
    wrap.appendChild(button);
    return button;
  }
  var toggles = [];
  if (pw1 && rulesStatus) {
    toggles.push(addToggle(pw1));
    pw1.addEventListener("input", function () { later(); if (pw2.value) { match(); } });
    if (username) { username.addEventListener("input", later); }
    tick();
  }
  if (pw2 && matchHint) {
    toggles.push(addToggle(pw2));
    pw2.setAttribute("aria-describedby",
      ((pw2.getAttribute("aria-describedby") || "") + " match-hint").trim());
    pw2.addEventListener("input", match);
    pw2.addEventListener("blur", function () { left = true; match(); });
  }

  if (code) {
    var tidy = function () {
      var clean = normalizeCode(code.value);
      if (clean !== code.value) { code.value = clean; }
    };
    code.addEventListener("input", function (event) {
      if (!event.inputType || /^insertFrom|Replacement/.test(event.inputType)) { tidy(); }
    });
    code.addEventListener("change", tidy);
  }

  // The language switcher loads the page again, which never keeps a password. Once one
  // is typed, the first press on a language says so; the next one switches.
  function warnBeforeSwitching() {
    var nav = doc.querySelector("footer nav");
    var note = null;
    if (!nav || !pw1) { return; }
    nav.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[href]");
      if (!link || note || !(pw1.value || (pw2 && pw2.value))) { return; }
      event.preventDefault();
      note = doc.createElement("p");
      note.id = "switch-warning";
      note.className = "retype";
      note.setAttribute("role", "alert");
      note.textContent = text("retype");
      nav.parentNode.insertBefore(note, nav);
    });
  }
  warnBeforeSwitching();

  form.addEventListener("submit", function () {
    if (code) { code.value = normalizeCode(code.value); }
    // Hide the passwords again, so nothing saves or shows them as plain text.
    for (var i = 0; i < toggles.length; i++) {
      if (toggles[i].classList.contains("shown")) { toggles[i].click(); }
    }
    var hidden = field("cognito_context_data");
    try {
      if (hidden && window.AmazonCognitoAdvancedSecurityData) {
        hidden.value = window.AmazonCognitoAdvancedSecurityData.getData(
          username ? username.value : "", form.getAttribute("data-pool"), form.getAttribute("data-client")) || "";
      }
    } catch (e) { /* the remote script is optional: never block the form */ }
  });
})();
