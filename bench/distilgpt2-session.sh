#!/usr/bin/env bash
# Issue 13's session benchmark with the real CLI: a distilgpt2-shaped GPT-2 (6 layers, n_embd 768,
# random weights, the demo's byte-level tokenizer) with a rank-8 LoRA on every attn.c_attn
# (768×8×2304), a 32-token prompt (6 c_attn calls × 32 rows), `zklora serve` + `zklora infer` +
# `zklora verify` as separate processes on loopback. Prints the phases' wall time, CPU time and
# peak resident memory (/usr/bin/time) for recording in bench/RESULTS.md.
#
#   bash bench/distilgpt2-session.sh [projection|plonk] [work-dir]
#
# The work dir (default: a new temporary folder) keeps the 0.33 GB checkpoint between runs; it is
# never inside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-projection}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
work=$(cd "$work" && pwd)
dotnet build src/ZkLora.Cli -c Release -nologo -v quiet >/dev/null
dotnet build bench/ZkLora.ModelBench -c Release -nologo -v quiet >/dev/null
zklora_dll="$PWD/src/ZkLora.Cli/bin/Release/net10.0/zklora.dll"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB; $(date -u '+%Y-%m-%d %H:%M') UTC; load $(cut -d' ' -f1-3 /proc/loadavg); backend $backend"

[[ -f "$work/model/model/model.safetensors" ]] || dotnet bench/ZkLora.ModelBench/bin/Release/net10.0/ZkLora.ModelBench.dll make-gpt2 "$work/model" | tail -1
# 32 tokens with the demo tokenizer (checked below against the transcript's row count).
printf '%s' "the cat sat on the mat, and the dog ran in the sun all day." > "$work/prompt.txt"

run="$work/run-$backend-$(date +%s)"
mkdir -p "$run"
server_pid=""
# $server_pid is /usr/bin/time; the server is its child (SIGTERM to the child lets time report).
stop_server() { pkill -TERM -P "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
cleanup() { if [[ -n "$server_pid" ]]; then stop_server; fi; }
trap cleanup EXIT

start=$(date +%s%N)
/usr/bin/time -v -o "$run/serve.time" dotnet "$zklora_dll" serve --adapter "$work/model/adapter" --base-model "$work/model/model" \
  --port 0 --out-dir "$run/a-out" --backend "$backend" --quiet > "$run/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 36000); do grep -q '^listening on' "$run/serve.log" && break; kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
grep -q '^listening on' "$run/serve.log" || { cat "$run/serve.log"; echo "the server did not start"; exit 1; }
listen=$(( ($(date +%s%N) - start) / 1000000000 ))
port=$(sed -nE 's/^listening on [^ ]*:([0-9]+) .*/\1/p' "$run/serve.log")
cp "$run/a-out/manifest.json" "$run/pinned.json"
[[ "$backend" != projection ]] || cp "$run/a-out/manifest.adapter-proofs.json" "$run/pinned.adapter-proofs.json"

/usr/bin/time -v -o "$run/infer.time" dotnet "$zklora_dll" infer --base-model "$work/model/model" --port "$port" \
  --text-file "$work/prompt.txt" --transcript "$run/transcript.json" --json > "$run/infer.json"
stop_server; server_pid=""
/usr/bin/time -v -o "$run/verify.time" dotnet "$zklora_dll" verify --proof-dir "$run/a-out/proofs" \
  --transcript "$run/transcript.json" --expected-adapters "$run/pinned.json" --json > "$run/verify.json"

field() { sed -nE "s/.*$1\": ?([0-9.eE+-]+).*/\1/p" "$2" | head -1; }
peak() { awk -F': ' '/Maximum resident set size/ {printf "%.0f MiB", $2/1024}' "$1"; }
cpu() { awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.1f s", u+s}' "$1"; }
wall() { awk -F'): ' '/Elapsed \(wall clock\)/ {print $2}' "$1"; }
rows=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1])); e=t['entries']; print(len(e), sorted({x['input_shape'][-2] for x in e}))" "$run/transcript.json" 2>/dev/null || echo "?")
echo "transcript: calls, row counts: $rows"
echo "serve: listening after ${listen} s (manifest$( [[ "$backend" == projection ]] && echo " + adapter proofs")); whole process: wall $(wall "$run/serve.time"), cpu $(cpu "$run/serve.time"), peak $(peak "$run/serve.time")"
echo "infer: forward $(field forward_seconds "$run/infer.json") s, end_inference (proving) $(field end_inference_seconds "$run/infer.json") s, total $(field total_seconds "$run/infer.json") s; peak $(peak "$run/infer.time")"
echo "verify: wall $(wall "$run/verify.time"), cpu $(cpu "$run/verify.time"), peak $(peak "$run/verify.time"); $(head -c 300 "$run/verify.json")"
echo "artifacts in $run"
