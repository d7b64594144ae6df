# Sourced by ./start and ./run-tests: make sure both Python environments exist and match their lock
# files (exact versions), then install the project into the app environment. Everything after that
# (embedding model, index, Rasa model, servers) is `tthc up`'s job.

find_python() {  # find_python 3.11 -> path of an interpreter of that minor version
  local version="$1" candidate prefix
  for candidate in "python$version" "/usr/bin/python$version" "/usr/local/bin/python$version"; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$version' else 1)" 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    prefix=$(pyenv prefix "$(pyenv versions --bare 2>/dev/null | grep -E "^$version(\.[0-9]+)?$" | tail -n 1)" 2>/dev/null) || true
    if [ -n "$prefix" ] && [ -x "$prefix/bin/python$version" ]; then echo "$prefix/bin/python$version"; return 0; fi
  fi
  return 1
}

# ensure_env DIR PYTHON_VERSION LOCK_FILE WHAT: create DIR and install LOCK_FILE unless already done.
ensure_env() {
  local dir="$1" version="$2" lock="$3" what="$4" python wanted stamp="$1/.tthc-lock-hash"
  wanted=$(cat "$lock" pyproject.toml | sha256sum | cut -c1-16)
  if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    return 0
  fi
  if [ ! -x "$dir/bin/python" ]; then
    python=$(find_python "$version") || {
      echo "tthc: error: Python $version not found (needed for $what); install it (e.g. 'pyenv install $version' or 'apt-get install python$version python$version-venv') and run again." >&2
      exit 2
    }
    echo "==> Creating $dir ($what) with $python"
    "$python" -m venv "$dir"
  fi
  echo "==> Installing $dir from $lock (first run: a few minutes)"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --progress-bar off -r "$lock" \
    || { echo "tthc: error: installing $lock into $dir failed (see pip's message above); fix that and run again." >&2; exit 2; }
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e . \
    || { echo "tthc: error: installing the project into $dir failed (see pip's message above)." >&2; exit 2; }
  echo "$wanted" > "$stamp"
}

ensure_environments() {
  export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
  ensure_env .venv 3.11 requirements/app.lock "the app server"
  ensure_env .venv-rasa 3.10 requirements/rasa.lock "the Rasa server"
}
