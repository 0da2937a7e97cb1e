#!/usr/bin/env bash
# Process-level fault suite for `zklora serve` / `verify` (issue 15), on 127.0.0.1 only and bounded
# in time (every step has a timeout). The in-process fault tests are in
# tests/ZkLora.Multiparty.Tests (ServerHardeningTests, ServerRobustnessTests: malformed frame
# corpus, hijack attempts, budgets, torn logs) and tests/ZkLora.Proofs.Tests (special files).
# Here, with real processes:
#   1. kill -9 while a session is open: the restarted server reloads it from its log;
#   2. kill -9 while proving an accepted end_inference: the restarted server proves it by itself
#      and the proofs verify;
#   3. special files in the proof directory (FIFO, symlink to /dev/zero, a directory): one
#      REJECTED line each, no hang;
#   4. SIGTERM: the server stops cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/ZkLora.Cli -c Release -nologo -v quiet >/dev/null
Z=(dotnet "src/ZkLora.Cli/bin/Release/net10.0/zklora.dll")
zklora() { "${Z[@]}" "$@"; }
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -9 "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$((31000 + RANDOM % 2000))
fail() { echo "FAIL: $*"; exit 1; }

start_server() { # $1: log file
  "${Z[@]}" serve --adapter "$work/demo/adapter" --base-model "$work/demo/model" --host 127.0.0.1 --port "$port" --out-dir "$work/a-out" >"$1" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do grep -q "^listening on" "$1" && return 0; sleep 0.5; done
  fail "the server did not start: $(tail -5 "$1")"
}
wait_for() { # $1: file, $2: text, $3: seconds
  for _ in $(seq 1 $(( $3 * 2 ))); do grep -q "$2" "$1" && return 0; sleep 0.5; done
  fail "'$2' did not appear in $1 within $3 s"
}

zklora init-demo "$work/demo" >/dev/null

echo "== 1. kill -9 with a session open"
start_server "$work/serve1.log"
timeout 300 "${Z[@]}" infer --base-model "$work/demo/model" --port "$port" --text "the cat sat" --transcript "$work/t1.json" --session-id open1 --no-end-inference >/dev/null
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true
[[ -f "$work/a-out/sessions/open1.wal" ]] || fail "no write-ahead log for the open session"
start_server "$work/serve2.log"
calls=$(grep -c '^call ' "$work/a-out/sessions/open1.wal")
[[ "$calls" == 2 ]] || fail "expected 2 logged calls, found $calls"
echo "   the log of session open1 survived with $calls calls and was reloaded"

echo "== 2. kill -9 while proving an accepted end_inference"
timeout 300 "${Z[@]}" infer --base-model "$work/demo/model" --port "$port" --text "the dog ran in the sun" --transcript "$work/t2.json" --session-id owed2 --end-timeout 600 >"$work/infer2.log" 2>&1 &
wait_for "$work/serve2.log" "end_inference for session 'owed2'" 300
sleep 1
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true
grep -qx end "$work/a-out/sessions/owed2.wal" || fail "end_inference was not logged before proving"
start_server "$work/serve3.log"
wait_for "$work/serve3.log" "recovery: session 'owed2'" 300
grep -q "recovery: session 'owed2': 2 proofs written" "$work/serve3.log" || fail "recovery did not prove the session: $(grep recovery "$work/serve3.log")"
timeout 300 "${Z[@]}" verify --proof-dir "$work/a-out/proofs" --transcript "$work/t2.json" --expected-adapters "$work/a-out/manifest.json"

echo "== 3. special files in the proof directory"
one() { # $1: what, then the command to damage $work/bad
  rm -rf "$work/bad"; cp -r "$work/a-out/proofs" "$work/bad"
  local target="$work/bad/owed2.transformer.h.0.attn.c_attn.0.zklora.$2"
  rm -f "$target"; eval "$3"
  set +e; out=$(timeout 120 "${Z[@]}" verify --proof-dir "$work/bad" --transcript "$work/t2.json" --expected-adapters "$work/a-out/manifest.json" 2>&1); code=$?; set -e
  [[ $code == 1 ]] || fail "$1: exit $code (124 = hung): $out"
  [[ $(grep -c "REJECTED (" <<<"$out") == 1 ]] || fail "$1: expected one REJECTED line: $out"
  echo "   $1: $out"
}
one "meta is a FIFO" meta.json 'mkfifo "$target"'
one "statement is a symlink to /dev/zero" statement.json 'ln -s /dev/zero "$target"'
one "proof is a symlink to /dev/urandom" proof 'ln -s /dev/urandom "$target"'
one "statement is a directory" statement.json 'mkdir "$target"'

echo "== 4. SIGTERM"
kill -TERM "$server_pid"
for _ in $(seq 1 60); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
kill -0 "$server_pid" 2>/dev/null && fail "the server did not stop on SIGTERM"
server_pid=""
grep -q "stopped" "$work/serve3.log" || fail "no clean stop in the log"
echo "fault suite: all passed"
