/* Progressive enhancement for the reset form. The form works without it. */
(function () {
  "use strict";
  var form = document.getElementById("reset-form");
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  if (!form) { return; }
  var pw1 = form.querySelector("[name=new_password1]");
  var pw2 = form.querySelector("[name=new_password2]");
  var code = form.querySelector("[name=code]");
  var min = parseInt(form.getAttribute("data-min"), 10) || 8;
  var symbols = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-";
  var checks = {
    length: function (v) { return v.length >= min; },
    lowercase: function (v) { return /[a-z]/.test(v); },
    uppercase: function (v) { return /[A-Z]/.test(v); },
    number: function (v) { return /[0-9]/.test(v); },
    symbol: function (v) { for (var i = 0; i < v.length; i++) { if (symbols.indexOf(v[i]) >= 0) { return true; } } return false; },
    nospace: function (v) { return v.length > 0 && !/\s/.test(v); }
  };
  var items = form.querySelectorAll("[data-rule]");
  function tick() {
    var v = pw1.value;
    for (var i = 0; i < items.length; i++) {
      var rule = items[i].getAttribute("data-rule");
      var met = checks[rule] ? checks[rule](v) : false;
      items[i].classList.toggle("met", met);
    }
  }
  if (pw1) { pw1.addEventListener("input", tick); tick(); }
  if (code) {
    code.addEventListener("change", function () {
      var c = code.value.replace(/\s+/g, "");
      if (/^[0-9-]+$/.test(c)) { c = c.replace(/-/g, ""); }
      code.value = c;
    });
  }
  form.addEventListener("submit", function (event) {
    var button = form.querySelector("button[type=submit]");
    if (form.getAttribute("data-busy")) { event.preventDefault(); return; }
    form.setAttribute("data-busy", "1");
    if (button) { button.disabled = true; button.textContent = button.getAttribute("data-busy-label") || button.textContent; }
    var hidden = form.querySelector("[name=cognito_context_data]");
    var user = form.querySelector("[name=username]");
    try {
      if (hidden && window.AmazonCognitoAdvancedSecurityData) {
        hidden.value = window.AmazonCognitoAdvancedSecurityData.getData(
          user ? user.value : "", form.getAttribute("data-pool"), form.getAttribute("data-client")) || "";
      }
    } catch (e) { /* the remote script is optional: never block the form */ }
  });
})();
