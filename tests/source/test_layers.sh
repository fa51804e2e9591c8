#!/usr/bin/env bash
# test_layers.sh: the server's layers keep to their rules
# (docs/ARCHITECTURE.md, "Layers"). Reads the sources only; each broken
# rule is printed with the file and line that breaks it.
#   - only server/store/ includes <lmdb.h> (of server/, common/, client/),
#     itself or through a store/ header that does;
#   - server/net/ never includes a store/ header;
#   - server/api/ never includes <zmq.h>, <czmq.h> or a net/ header;
#   - server/exec/ never includes a net/ header;
#   - server/store/ never includes an api/, exec/, net/ or cluster/ header;
#   - server/cluster/ (Raft) never includes a net/ or store/ header: it
#     reaches the store through exec/commit.h, like the writer, and owns
#     sockets of its own; api/ and exec/ never include a cluster/ header
#     (they see the cluster through handler_env_t's hooks);
#   - bench/load/ (the load client) includes no server header or lmdb.h;
#   - no file both makes or sends on a socket and includes a store header;
#   - no hand-written .c/.h over 1,500 lines (generated files say so in
#     their first lines and are left out).
set -uo pipefail
cd "${DOSSIER_SOURCE_DIR:-$(dirname "$0")/../..}" || exit 2
broken=0

# rule TEXT FILES... : prints "rule: TEXT" and each match, counts them.
report() {
    local what=$1 matches=$2
    if [ -n "$matches" ]; then
        echo "broken: $what"
        echo "$matches" | sed 's/^/    /'
        broken=$((broken + 1))
    fi
}

c_files() { find "$@" -name '*.[ch]' -type f 2>/dev/null | sort; }

report "only server/store/ includes <lmdb.h>" \
    "$(c_files server common client | grep -v '^server/store/' |
       xargs -r grep -n '#include <lmdb.h>')"
# Headers of store/ that pull lmdb.h in: nobody outside store/ includes them.
lmdb_headers=$(c_files server/store | grep '\.h$' |
    xargs -r grep -l '#include <lmdb.h>' | sed 's|^server/||')
private=""
for h in $lmdb_headers; do
    private+=$(c_files server common client | grep -v '^server/store/' |
        xargs -r grep -n "#include \"$h\"")
done
report "outside store/, no header that includes <lmdb.h>" "$private"
report "server/net/ includes no store/ header" \
    "$(c_files server/net | xargs -r grep -n '#include "store/')"
report "server/api/ sees no socket and no net/ header" \
    "$(c_files server/api |
       xargs -r grep -nE '#include (<zmq.h>|<czmq.h>|"net/)')"
report "server/exec/ includes no net/ header" \
    "$(c_files server/exec | xargs -r grep -n '#include "net/')"
report "server/store/ includes no api/, exec/, net/ or cluster/ header" \
    "$(c_files server/store |
       xargs -r grep -nE '#include "(api|exec|net|cluster)/')"
report "server/cluster/ includes no net/ or store/ header" \
    "$(c_files server/cluster | xargs -r grep -nE '#include "(net|store)/')"
report "server/api/ and server/exec/ include no cluster/ header" \
    "$(c_files server/api server/exec | xargs -r grep -n '#include "cluster/')"
report "bench/load/ is a client: no server header, no <lmdb.h>" \
    "$(c_files bench/load |
       xargs -r grep -nE '#include (<lmdb.h>|"(api|exec|net|store)/)')"

both=""
for f in $(c_files server); do
    if grep -qE '\b(zmq_socket|zmq_send|zmq_msg_send|zsock_new[a-z_]*)\(' "$f" &&
        grep -q '#include "store/' "$f"; then
        both+="$f: owns a socket and includes a store header"$'\n'
    fi
done
report "no file both owns sockets and touches the store" "${both%$'\n'}"

long=""
for f in $(c_files server common client tests bench fuzz); do
    if head -n 5 "$f" | grep -qi 'generated'; then
        continue
    fi
    n=$(wc -l <"$f")
    if [ "$n" -gt 1500 ]; then
        long+="$f: $n lines"$'\n'
    fi
done
report "no hand-written source file over 1,500 lines" "${long%$'\n'}"

checked=11
echo "$((checked - broken)) passed, $broken failed"
[ "$broken" -eq 0 ]
