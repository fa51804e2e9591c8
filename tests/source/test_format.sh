#!/usr/bin/env bash
# test_format.sh: every C file in the repository is as clang-format
# (.clang-format) writes it, so `make test` fails on one it would change.
# `make format` rewrites them.
set -uo pipefail
cd "${DOSSIER_SOURCE_DIR:-$(dirname "$0")/../..}" || exit 2
if ! command -v clang-format >/dev/null; then
    echo "clang-format is not installed (deploy/install-deps.sh installs it)"
    exit 1
fi
if [ -d .git ] || git rev-parse --git-dir >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files '*.c' '*.h')
else
    mapfile -t files < <(find server common client tests bench fuzz \
        -name '*.[ch]' -type f | sort)
fi
changed=()
for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        changed+=("$f")
    fi
done
for f in "${changed[@]}"; do
    echo "clang-format would change $f:"
    clang-format "$f" | diff -u "$f" - | head -n 20
done
echo "${#files[@]} files checked: $((${#files[@]} - ${#changed[@]})) passed, ${#changed[@]} failed"
[ ${#changed[@]} -eq 0 ]
