# Shared by tools/*: the project's virtualenv, created and kept in sync with pyproject.toml.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FK_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

ensure_venv() {
    local extras="$1"
    if [ ! -x "$PY" ]; then
        echo "==> creating virtualenv $VENV"
        python3 -m venv "$VENV"
    fi
    local stamp="$VENV/.fk-installed-$extras"
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        echo "==> installing faaskeeper[$extras] into $VENV (log: build/pip.log)"
        mkdir -p "$ROOT/build"
        if ! { "$PY" -m pip install --upgrade pip && "$PY" -m pip install -e "$ROOT[$extras]"; } \
            >"$ROOT/build/pip.log" 2>&1; then
            tail -n 30 "$ROOT/build/pip.log"
            echo "install failed; see build/pip.log" >&2
            exit 1
        fi
        touch "$stamp"
    fi
    export PATH="$VENV/bin:$PATH"
}

# Install another of the project's distributions (a provider plugin) editable, once per change
# of its pyproject.toml. $1: its directory below the root; $2: extras, or empty.
ensure_plugin() {
    local dir="$1" extras="${2:-}"
    local stamp="$VENV/.fk-installed-$(echo "$dir" | tr '/' '-')"
    if [ ! -f "$stamp" ] || [ "$ROOT/$dir/pyproject.toml" -nt "$stamp" ]; then
        echo "==> installing $dir into $VENV"
        mkdir -p "$ROOT/build"
        local spec="$ROOT/$dir"
        [ -n "$extras" ] && spec="$spec[$extras]"
        if ! "$PY" -m pip install -e "$spec" >>"$ROOT/build/pip.log" 2>&1; then
            tail -n 30 "$ROOT/build/pip.log"
            echo "install of $dir failed; see build/pip.log" >&2
            exit 1
        fi
        touch "$stamp"
    fi
}
