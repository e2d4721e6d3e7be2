# bash completion for cnnfilter(1)                          -*- shell-script -*-
#
# Installed as <datadir>/bash-completion/completions/cnnfilter (loaded on
# demand by bash-completion), or source it from ~/.bashrc.  It needs nothing
# from bash-completion itself.  Every word it offers comes from the binary
# being completed at run time (`cnnfilter complete commands|options|
# NAME-options|--OPTION`, `cnnfilter complete NAME --OPTION` and `cnnfilter
# kernels`), so it always matches that binary: nothing here lists options'
# values or formats (only which options name files or folders).

# The binary whose kernels to list: the command word as typed when it can be
# run (./build/cnnfilter, ~/bin/cnnfilter), else cnnfilter on PATH.
_cnnfilter_bin()
{
    local cmd=${COMP_WORDS[0]}
    [[ $cmd == \~/* ]] && cmd=$HOME/${cmd#\~/}
    if [[ $cmd == */* && -x $cmd && ! -d $cmd ]]; then
        printf '%s\n' "$cmd"
    elif type -P "$cmd" >/dev/null 2>&1; then
        type -P "$cmd"
    else
        type -P cnnfilter
    fi
}

# The built-in kernel names: the first word of each line of `cnnfilter kernels`.
_cnnfilter_kernel_names()
{
    local bin
    bin=$(_cnnfilter_bin) || return 0
    [[ -n $bin ]] || return 0
    "$bin" kernels 2>/dev/null | while read -r name _; do
        [[ -n $name ]] && printf '%s\n' "$name"
    done
}

# Bare .json names cnnfilter would find outside the current folder:
# $CNNFILTER_KERNELS and <prefix>/share/cnnfilter/kernels beside the binary.
# $1 = "pipelines" keeps only files with a "layers" key, "kernels" only the others.
_cnnfilter_data_files()
{
    local bin dir f
    local -a dirs=()
    [[ -n ${CNNFILTER_KERNELS-} ]] && dirs+=("$CNNFILTER_KERNELS")
    bin=$(_cnnfilter_bin 2>/dev/null)
    if [[ -n $bin ]]; then
        bin=$(readlink -f -- "$bin" 2>/dev/null || printf '%s' "$bin")
        dirs+=("${bin%/*}/../share/cnnfilter/kernels")
    fi
    for dir in "${dirs[@]}"; do
        [[ -d $dir ]] || continue
        for f in "$dir"/*.json; do
            [[ -f $f ]] || continue
            if grep -q '"layers"' -- "$f" 2>/dev/null; then
                [[ ${1-} == pipelines ]] || continue
            else
                [[ ${1-} == kernels ]] || continue
            fi
            printf '%s\n' "${f##*/}"
        done
    done
}

# Add to COMPREPLY the words of $1 (newline-separated) that start with $2.
_cnnfilter_add()
{
    local w
    while IFS= read -r w; do
        [[ -n $w && $w == "$2"* ]] && COMPREPLY+=("$w")
    done <<<"$1"
}

# Files (all, or only *.json with $1 = json, or folders with $1 = dirs) that
# start with $2; folders are always offered so one can descend.
_cnnfilter_files()
{
    local line
    compopt -o filenames 2>/dev/null
    case $1 in
        json) while IFS= read -r line; do [[ -n $line ]] && COMPREPLY+=("$line"); done \
                  < <(compgen -f -X '!*.[jJ][sS][oO][nN]' -- "$2"; compgen -d -- "$2") ;;
        dirs) while IFS= read -r line; do [[ -n $line ]] && COMPREPLY+=("$line"); done \
                  < <(compgen -d -- "$2") ;;
        *) while IFS= read -r line; do [[ -n $line ]] && COMPREPLY+=("$line"); done \
               < <(compgen -f -- "$2") ;;
    esac
}

# The words `cnnfilter complete WHAT` prints (empty if the binary is missing).
_cnnfilter_words()
{
    local bin
    bin=$(_cnnfilter_bin) || return 0
    [[ -n $bin ]] || return 0
    "$bin" complete "$1" 2>/dev/null
}

# Values of an option ($1) that start with $2.  Returns 1 if $1 takes no value.
_cnnfilter_values()
{
    local opt=$1 cur=$2 words
    case $opt in
        -k | --kernel)
            # Built-in names, then kernel files of the data folders that are
            # not just the copy of a built-in (emboss.json is emboss).
            local names f
            names=$(_cnnfilter_kernel_names)
            _cnnfilter_add "$names" "$cur"
            while IFS= read -r f; do
                [[ -n $f && $f == "$cur"* && $'\n'$names$'\n' != *$'\n'"${f%.json}"$'\n'* ]] &&
                    COMPREPLY+=("$f")
            done < <(_cnnfilter_data_files kernels)
            _cnnfilter_files json "$cur" ;;
        --pipeline)
            _cnnfilter_add "$(_cnnfilter_data_files pipelines)" "$cur"
            _cnnfilter_files json "$cur" ;;
        -o | --output | --output-dir)
            # The filter's -o is a folder; train's and learn's a .json file.
            if [[ -n ${sub-} ]]; then _cnnfilter_files json "$cur"; else _cnnfilter_files dirs "$cur"; fi ;;
        --diff | --log | --labels | --val-labels | --val-data | --confusion)
            _cnnfilter_files all "$cur" ;;
        -*)
            if [[ -n ${sub-} ]]; then
                # A subcommand's option: its word values, nothing for a
                # number; exit 1 from `complete SUB OPT` for a switch.
                local bin
                bin=$(_cnnfilter_bin) && [[ -n $bin ]] || return 1
                words=$("$bin" complete "$sub" "$opt" 2>/dev/null) || return 1
                _cnnfilter_add "$words" "$cur"
                return 0
            fi
            # Whether the option takes a value, and which words: the binary
            # says (a switch or unknown option: exit 1 from `complete`).
            words=$(_cnnfilter_words "$opt") || return 1
            local bin takes
            bin=$(_cnnfilter_bin)
            takes=$("$bin" complete options-with-values 2>/dev/null)
            [[ $'\n'$takes$'\n' == *$'\n'"$opt"$'\n'* ]] || return 1
            _cnnfilter_add "$words" "$cur" ;;
        *) return 1 ;;
    esac
    return 0
}

_cnnfilter()
{
    COMPREPLY=()
    local cword=$COMP_CWORD
    local cur=${COMP_WORDS[cword]-}
    local prev=
    ((cword > 0)) && prev=${COMP_WORDS[cword - 1]}

    # The subcommand, if the first argument names one.
    local sub='' i commands
    commands=$(_cnnfilter_words commands)
    if ((cword > 1)) && [[ -n ${COMP_WORDS[1]-} && $'\n'$commands$'\n' == *$'\n'"${COMP_WORDS[1]}"$'\n'* ]]; then
        sub=${COMP_WORDS[1]}
    fi
    local opts
    if [[ -n $sub ]]; then
        opts=$(_cnnfilter_words "$sub-options")
    else
        opts=$(_cnnfilter_words options)
    fi

    # A "--" before the current word: only file names follow.
    for ((i = 1; i < cword; i++)); do
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            _cnnfilter_files all "$cur"
            return 0
        fi
    done

    # --opt=value.  Bash splits the line at '=' (COMP_WORDBREAKS), giving the
    # words "--opt" "=" "value"; readline then replaces only the text after
    # the '='.  Without '=' in COMP_WORDBREAKS the word stays whole and the
    # replies must carry the "--opt=" prefix.
    if [[ $cur == = && $prev == --* ]]; then
        _cnnfilter_values "$prev" ""
        return 0
    fi
    if [[ $prev == = ]] && ((cword >= 2)) && [[ ${COMP_WORDS[cword - 2]} == --* ]]; then
        _cnnfilter_values "${COMP_WORDS[cword - 2]}" "$cur"
        return 0
    fi
    if [[ $cur == --*=* ]]; then
        local opt=${cur%%=*} j
        _cnnfilter_values "$opt" "${cur#*=}"
        for j in "${!COMPREPLY[@]}"; do
            COMPREPLY[j]=$opt=${COMPREPLY[j]}
        done
        return 0
    fi
    # After a ':' (gaussian:5, gaussian::2, leaky_relu:0.1) a number follows.
    if [[ $cur == : || $prev == : ]]; then
        return 0
    fi

    case $sub in
        kernels) return 0 ;;
        show-kernel)
            if ((cword == 2)) && [[ $cur != -* ]]; then
                _cnnfilter_values --kernel "$cur"
            fi
            return 0 ;;
    esac

    # The value of the option before the current word.
    if [[ $prev == -* ]] && _cnnfilter_values "$prev" "$cur"; then
        return 0
    fi

    if [[ $cur == -* ]]; then
        local w
        for w in $opts; do
            [[ $w == "$cur"* ]] && COMPREPLY+=("$w")
        done
        return 0
    fi

    if ((cword == 1)); then
        _cnnfilter_add "$commands" "$cur"
    fi
    # INPUT, OUTPUT, compare's A and B: files and folders.
    _cnnfilter_files all "$cur"
    return 0
}

complete -F _cnnfilter cnnfilter
