#!/usr/bin/env bash
# The GPU check on an offline node: installs the prepared wheels, then runs bench/gpu_check.py.
#
#   bench/gpu_check.sh [--out DIR] [--dry-run] [-- gpu_check.py options]
#
#   --out DIR    results folder (default bench/out/): at most 8 files, see bench/gpu_check.py
#   --dry-run    the same steps at tiny sizes on the CPU, in an environment holding only what the GPU
#                image holds (made from .venv by `gpu_check.py --image-env`), with the same wheels
#   --python PY  the interpreter of the image (default: python3; the dry run makes its own)
#
# Prepare the wheels first, where PyPI is reachable: `make gpu-wheels` (into .whl/). Everything after
# `--` goes to bench/gpu_check.py (e.g. `-- --steps pytest_gpu train_segan_eager_rmsprop`, `-- --list`).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$root/bench/out"
dry_run=false
python=${PYTHON:-python3}
extra=()

while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --out=*) out=${1#--out=}; shift ;;
        --dry-run|--dry_run) dry_run=true; shift ;;
        --python) python=$2; shift 2 ;;
        --python=*) python=${1#--python=}; shift ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "gpu_check.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
    esac
done

wheels="$root/.whl"
if ! ls "$wheels"/*.whl >/dev/null 2>&1; then
    echo "gpu_check.sh: no wheels in $wheels; run 'make gpu-wheels' where PyPI is reachable and copy .whl/ along" >&2
    exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
log="$out/gpu_check.log"
: >"$log"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqgan_gpu_check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if $dry_run; then
    venv_python="$root/.venv/bin/python"
    if [ ! -x "$venv_python" ]; then
        echo "gpu_check.sh: --dry-run needs the .venv of 'make setup'" >&2
        exit 2
    fi
    python=$("$venv_python" "$root/bench/gpu_check.py" --image-env "$tmp/image")
    echo "dry run: image-like environment $tmp/image" | tee -a "$log"
fi

# the wheels, as the image will get them: no index, no dependency resolution, into a throw-away target
"$python" -m pip install --no-index --no-deps --no-cache-dir --disable-pip-version-check -q \
    --find-links "$wheels" --target "$tmp/site" -r "$root/bench/gpu_wheels.txt" >>"$log" 2>&1 || {
    echo "gpu_check.sh: installing the wheels of $wheels failed; see $log" >&2
    exit 1
}
installed=$(cd "$tmp/site" && echo *.dist-info)
echo "installed ${installed//.dist-info/} into $tmp/site" | tee -a "$log"

export PYTHONPATH="$tmp/site:$root${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
args=(--out "$out")
if $dry_run; then
    args+=(--dry-run)
fi
cd "$root"
"$python" "$root/bench/gpu_check.py" "${args[@]}" "${extra[@]}"
