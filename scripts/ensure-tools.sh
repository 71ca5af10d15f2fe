#!/usr/bin/env bash
# Make sure the system programs the tests drive are installed: Graphviz's `dot`
# (`flowengine graph --format svg|png`) and Debian's chromium with chromedriver (tests/ui:
# the live flow page in a real headless browser). Installs what is missing with apt-get
# (Debian, as root) and fails loudly otherwise: those tests never skip.
set -euo pipefail

declare -A PACKAGE=([dot]=graphviz [chromium]=chromium [chromedriver]=chromium-driver)
COMMANDS=(dot chromium chromedriver)

missing=()
for cmd in "${COMMANDS[@]}"; do
    command -v "$cmd" >/dev/null || missing+=("${PACKAGE[$cmd]}")
done

if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "ensure-tools: installing ${missing[*]} with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

for cmd in "${COMMANDS[@]}"; do
    command -v "$cmd" >/dev/null || {
        echo "ensure-tools: $cmd is missing and cannot be installed here; apt-get install ${PACKAGE[$cmd]}" >&2
        exit 1
    }
done
echo "ensure-tools: $(dot -V 2>&1 | head -1); $(chromium --version 2>/dev/null | head -1)" >&2
