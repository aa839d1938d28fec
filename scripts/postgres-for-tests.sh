#!/usr/bin/env bash
# A throwaway PostgreSQL server for the state store's tests and benchmark: Debian's
# `postgresql` package (installed with apt-get when missing and we are root), a cluster in a
# new temporary directory owned by an unprivileged user (`postgres`, or you when not root),
# listening on 127.0.0.1 only, on a free port, trusting local connections.
#
#   eval "$(scripts/postgres-for-tests.sh start)"   # exports REFLEX_TEST_POSTGRES_URL, REFLEX_TEST_POSTGRES_DIR
#   cargo test --locked -p cargo-reflex --test state
#   scripts/postgres-for-tests.sh stop "$REFLEX_TEST_POSTGRES_DIR"
#
# With REFLEX_TEST_POSTGRES_TLS=DIR (holding server.crt and server.key, PEM) the server also
# speaks TLS with that certificate (the TLS tests start such a server of their own).
set -euo pipefail

bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    if [ -z "$(bindir)" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "installing Debian's postgresql package" >&2
            apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        else
            echo "PostgreSQL is not installed (apt-get install postgresql)" >&2
            exit 1
        fi
    fi
    local bin dir port
    bin=$(bindir)
    dir=$(mktemp -d /tmp/reflex-postgres.XXXXXX)
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir"
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U reflex --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    local tls=""
    if [ -n "${REFLEX_TEST_POSTGRES_TLS:-}" ]; then
        cp "$REFLEX_TEST_POSTGRES_TLS/server.crt" "$REFLEX_TEST_POSTGRES_TLS/server.key" "$dir/data/"
        chmod 600 "$dir/data/server.key"
        if [ "$(id -u)" = 0 ]; then
            chown postgres: "$dir/data/server.crt" "$dir/data/server.key"
        fi
        tls="-c ssl=on -c ssl_cert_file=$dir/data/server.crt -c ssl_key_file=$dir/data/server.key"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=off -c shared_buffers=256MB $tls" \
        start >&2 || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U reflex reflex_test >&2
    echo "export REFLEX_TEST_POSTGRES_URL='postgres://reflex@127.0.0.1:$port/reflex_test?sslmode=disable'"
    echo "export REFLEX_TEST_POSTGRES_DIR='$dir'"
}

stop() {
    local dir=${1:?the directory start printed}
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
