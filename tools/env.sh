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
