#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver (/usr/bin/chromium, /usr/bin/chromedriver) for the browser test of
# `actrep app` (tests/test_app_browser.py); `make test` runs this. Nothing that downloads a browser of its
# own: only the distribution's packages. Without root (or passwordless sudo) or apt-get it says why and
# the browser test is skipped (CI runs as root and sets ACTREP_REQUIRE_BROWSER=1, so there it fails).
set -uo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "[browser] no apt-get here: install Chromium and ChromeDriver to run the browser test" >&2
  exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "[browser] not root: run 'sudo apt-get install chromium chromium-driver' to run the browser test" >&2
    exit 0
  fi
fi
echo "[browser] installing Debian's chromium and chromium-driver"
if ! { "${SUDO[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq \
       chromium chromium-driver >/dev/null; }; then
  echo "[browser] apt-get could not install chromium chromium-driver: the browser test will be skipped" >&2
fi
exit 0
