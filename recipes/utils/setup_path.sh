# shellcheck shell=bash
# Sourced by egs/*/*/path.sh with MAIN_ROOT set to the repository: makes `python` and `seqgan` the
# installed seqgan (activating ${MAIN_ROOT}/.venv when no virtual environment is active) and checks
# that they work, saying how to fix the installation when they do not. Returns 1 on a problem.

if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "${MAIN_ROOT}/.venv/bin/activate" ]; then
    # shellcheck source=/dev/null
    . "${MAIN_ROOT}/.venv/bin/activate"
fi
if ! command -v python >/dev/null 2>&1; then
    echo "path.sh: no python on PATH. Set up seqgan with: cd ${MAIN_ROOT} && make setup" >&2
    return 1
fi
if ! _seqgan_err=$(python -c 'import seqgan, torch, soundfile' 2>&1); then
    echo "path.sh: $(command -v python) cannot import seqgan and its dependencies:" >&2
    echo "${_seqgan_err}" | tail -n 3 | sed 's/^/    /' >&2
    echo "path.sh: set it up with: cd ${MAIN_ROOT} && make setup   (or activate the environment" \
        "where seqgan is installed: pip install -e ${MAIN_ROOT})" >&2
    unset _seqgan_err
    return 1
fi
unset _seqgan_err
if ! command -v seqgan >/dev/null 2>&1; then
    echo "path.sh: python imports seqgan but the seqgan command is not on PATH; reinstall it:" \
        "pip install -e ${MAIN_ROOT}" >&2
    return 1
fi
export PYTHONUNBUFFERED=1
export LC_ALL=C
