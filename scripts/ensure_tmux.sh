#!/usr/bin/env bash
# The terminal tests drive the real UI in tmux (send-keys, capture-pane, pipe-pane), so
# `make test` needs it. Installed here where that is possible without asking (root with
# apt-get, as on the CI machine); elsewhere a clear one-line error says what to run.
set -euo pipefail
command -v tmux >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing tmux for the terminal tests (apt-get)"
    apt-get update -qq >/dev/null && apt-get install -y -qq tmux >/dev/null
    command -v tmux >/dev/null 2>&1 && exit 0
fi
echo "make test: the terminal tests need tmux; install it (e.g. 'sudo apt-get install tmux' or 'brew install tmux') and run make test again" >&2
exit 1
