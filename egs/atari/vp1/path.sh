# shellcheck shell=bash
# Sourced by the recipe: puts seqgan on PATH (the repository's .venv when no environment is active)
# and checks the installation, saying how to fix it.
MAIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
export MAIN_ROOT
# shellcheck source=SCRIPTDIR/../../../recipes/utils/setup_path.sh
. "${MAIN_ROOT}/recipes/utils/setup_path.sh"
