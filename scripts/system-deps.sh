#!/usr/bin/env bash
# Debian packages the test suites start for real: Chromium, Firefox ESR and
# WebKitGTK's WebDriver under Xvfb (browser tests in three engines),
# redis-server (shared cache), nginx (scale-out), gettext (translation check),
# prometheus for its promtool (alert-rule tests). Installed through apt when missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v xgettext >/dev/null 2>&1 || need+=(gettext)  # the translation test extracts strings
lean=()  # installed without recommends: what the tests use, not the desktop around it
command -v promtool >/dev/null 2>&1 || lean+=(prometheus)  # not node-exporter
command -v firefox-esr >/dev/null 2>&1 || lean+=(firefox-esr)
command -v WebKitWebDriver >/dev/null 2>&1 || lean+=(webkit2gtk-driver)  # drives MiniBrowser
command -v Xvfb >/dev/null 2>&1 || lean+=(xvfb)  # WebKitGTK has no headless mode
# "fonts" (make screenshots): fonts for every script the language list shows. DejaVu
# has Arabic and Hebrew; WenQuanYi Micro Hei (5 MB) Chinese, Japanese and Korean.
if [ "${1:-}" = fonts ]; then
  shift
  fc-list :lang=ar | grep -q . && fc-list :lang=he | grep -q . || need+=(fonts-dejavu-core)
  for lang in ja ko zh-cn; do fc-list :lang=$lang | grep -q . || need+=(fonts-wqy-microhei); done
fi
# Extra packages a target needs (e.g. wrk for make bench): "system-deps.sh wrk".
for extra in "$@"; do
  command -v "$extra" >/dev/null 2>&1 || need+=("$extra")
done
need=($(printf '%s\n' "${need[@]}" | sort -u))  # fonts-wqy-microhei once
[ ${#need[@]} -eq 0 ] && [ ${#lean[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${need[*]} ${lean[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  [ ${#need[@]} -eq 0 ] || apt-get install -y -qq "${need[@]}" >/dev/null
  [ ${#lean[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
  exit 0
fi
echo "Missing system packages: ${need[*]} ${lean[*]}" >&2
echo "Install them (Debian/Ubuntu: sudo apt-get install ${need[*]} ${lean[*]}) and run make test again." >&2
exit 1
