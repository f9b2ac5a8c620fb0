# shellcheck shell=bash
# Command-line options for recipe scripts, Kaldi style. Source it after setting the defaults:
#
#   stage=0        # first stage to run
#   nj=4           # parallel jobs
#   help_message="Usage: $0 [options] <arg>"
#   . utils/parse_options.sh
#
# Every variable assigned at the start of a line above that `. utils/parse_options.sh` line becomes an
# option: `--nj 8` or `--nj=8` sets nj=8. Dashes and underscores are the same (`--stop-stage 3` sets
# stop_stage). A variable whose default is true or false takes only true or false. Options may repeat;
# the last one wins (recipes pass their corpus settings first and the user's options after them).
# `--help` (or -h) prints ${help_message} and every option with its current value and the comment of
# its line, then exits 0; run it after other options to see the values they give. An unknown option or
# a missing value is an error (exit 1). Parsing stops at `--` or at the first argument that does not
# start with `--`; the rest is left in "$@" as positional arguments.
#
# A corpus recipe (egs/*/run.sh) that adds options of its own to the staged script it calls sets
# `pass_unknown_options=true` above the line that sources this file: then the options it does not
# define are left in "$@", in order and each with its value, for it to pass on ("$@" to se.sh or
# vp.sh), and `--help` prints its own options and is passed on too, so that the called script's help
# follows.

_po_script=${BASH_SOURCE[1]:-$0}

_po_index() {
    # Prints the position of option $1 in _po_names; fails when it is not there.
    local _po_i
    for ((_po_i = 0; _po_i < ${#_po_names[@]}; _po_i++)); do
        if [ "${_po_names[_po_i]}" = "$1" ]; then
            echo "${_po_i}"
            return 0
        fi
    done
    return 1
}

# The option names, in order, and their comments: top-level `name=value  # comment` lines of the
# calling script above the line that sources this file.
# (indexed arrays only: macOS still ships bash 3.2)
_po_names=()
_po_docs=()
if [ -f "${_po_script}" ]; then
    while IFS= read -r _po_line; do
        case "${_po_line}" in
            *parse_options.sh*) break ;;
        esac
        if [[ "${_po_line}" =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]]; then
            _po_name=${BASH_REMATCH[1]}
            if [ "${_po_name}" = help_message ] || [ "${_po_name}" = pass_unknown_options ] ||
                _po_index "${_po_name}" >/dev/null; then
                continue
            fi
            _po_names+=("${_po_name}")
            if [[ "${_po_line}" =~ [[:space:]]#[[:space:]]*(.*)$ ]]; then
                _po_docs+=("${BASH_REMATCH[1]}")
            else
                _po_docs+=("")
            fi
        fi
    done <"${_po_script}"
fi

_po_is_option() {
    # With a scanned list, only its names; otherwise (sourced interactively) any variable that is set.
    if [ "${#_po_names[@]}" -gt 0 ]; then
        _po_index "$1" >/dev/null
    else
        [ -n "${!1+x}" ]
    fi
}

_po_help() {
    local _po_i _po_n _po_v  # prefixed: a local must not shadow an option in ${!name}
    if [ -n "${help_message:-}" ]; then
        printf '%s\n\n' "${help_message}"
    else
        printf 'Usage: %s [options]\n\n' "${_po_script}"
    fi
    if [ "${_po_pass}" = true ]; then
        echo "Options of ${_po_script} (the others go on to the script it calls, listed below):"
    else
        echo "Options (dashes and underscores are interchangeable; current values in brackets):"
    fi
    for ((_po_i = 0; _po_i < ${#_po_names[@]}; _po_i++)); do
        _po_n=${_po_names[_po_i]}
        _po_v=${!_po_n-}
        printf '  --%-24s %s [%s]\n' "${_po_n}" "${_po_docs[_po_i]}" "${_po_v}"
    done
    if [ "${_po_pass}" = true ]; then
        echo
    else
        printf '  --%-24s %s\n' "help" "print this message and exit"
    fi
}

_po_pass=${pass_unknown_options:-false}
_po_passed=()  # with pass_unknown_options=true: the options left for the called script
while [ "$#" -gt 0 ]; do
    case "$1" in
        --help | -h)
            _po_help
            if [ "${_po_pass}" = true ]; then
                _po_passed+=("$1")
                shift
                continue
            fi
            exit 0
            ;;
        --)
            shift
            break
            ;;
        --*=*)
            _po_key=${1%%=*}
            _po_value=${1#*=}
            shift
            ;;
        --*)
            _po_key=$1
            if [ "$#" -lt 2 ]; then
                echo "$0: option $1 needs a value (see $0 --help)" >&2
                exit 1
            fi
            _po_value=$2
            shift 2
            ;;
        *)
            break
            ;;
    esac
    _po_name=${_po_key#--}
    _po_name=${_po_name//-/_}
    if ! [[ "${_po_name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || ! _po_is_option "${_po_name}"; then
        if [ "${_po_pass}" = true ]; then
            _po_passed+=("${_po_key}" "${_po_value}")
            continue
        fi
        echo "$0: unknown option ${_po_key} (see $0 --help for the options)" >&2
        exit 1
    fi
    case "${!_po_name-}" in
        true | false)
            if [ "${_po_value}" != true ] && [ "${_po_value}" != false ]; then
                echo "$0: ${_po_key} takes true or false, got '${_po_value}'" >&2
                exit 1
            fi
            ;;
    esac
    printf -v "${_po_name}" '%s' "${_po_value}"
done

if [ "${#_po_passed[@]}" -gt 0 ]; then
    set -- "${_po_passed[@]}" "$@"
fi
unset _po_script _po_names _po_docs _po_line _po_name _po_key _po_value _po_pass _po_passed
unset -f _po_index _po_is_option _po_help
true
