#!/usr/bin/env bash
# The main job: build the deterministic demo model and adapter, commit to a file of
# activations (verify, open), then the multi-party flow with separate processes
# (serve / infer / verify), and finally the whole flow in one process (`zklora demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
dotnet build src/ZkLora.Cli -c Release -nologo -v quiet >/dev/null
zklora() { dotnet "src/ZkLora.Cli/bin/Release/net10.0/zklora.dll" "$@"; }
# The multi-party flow runs on the default projection backend; ZKLORA_DEMO_BACKEND=plonk runs it on the
# PLONK backend instead. `zklora demo` runs on both at the end.
backend="${ZKLORA_DEMO_BACKEND:-projection}"
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== zklora info"; zklora info
echo "== zklora init-demo $work/demo"; zklora init-demo "$work/demo"
echo '{"input_data": [[0.25, -1.5, 3.0], [1e-7, 42, -0.0]]}' > "$work/acts.json"
echo "== zklora commit acts.json"; zklora commit "$work/acts.json" | tee "$work/commitment.json"
echo "== zklora verify-commitment acts.json commitment.json"; zklora verify-commitment "$work/acts.json" "$work/commitment.json"
echo "== zklora open acts.json --index 4"; zklora open "$work/acts.json" --index 4 --commitment "$work/commitment.json" | tee "$work/opening.json"
root=$(sed -E 's/.*"root":"([^"]+)".*/\1/' "$work/commitment.json")
echo "== zklora verify-opening opening.json --root $root"; zklora verify-opening "$work/opening.json" --root "$root"

# Multi-party inference: a contributor serves the demo adapter on a free loopback port; the
# verifier pins its manifest before inference; the base-model user runs the demo model with
# the adapter's deltas, writes its transcript and ends the session (the contributor proves);
# the verifier checks the proofs against the transcript and the pinned manifest.
echo "== zklora serve --adapter demo/adapter --port 0 (background)"
# (dotnet directly, not the zklora function, so that $! is the server process itself)
dotnet "src/ZkLora.Cli/bin/Release/net10.0/zklora.dll" serve --adapter "$work/demo/adapter" \
  --base-model "$work/demo/model" --port 0 --out-dir "$work/a-out" --backend "$backend" --quiet > "$work/serve.log" &
server_pid=$!
# (the projection backend makes its one-time adapter proof before it listens)
for _ in $(seq 1 1500); do grep -q '^listening on' "$work/serve.log" && break; sleep 0.2; done
cat "$work/serve.log"
cp "$work/a-out/manifest.json" "$work/pinned-manifest.json"
if [[ "$backend" == projection ]]; then cp "$work/a-out/manifest.adapter-proofs.json" "$work/pinned-manifest.adapter-proofs.json"; fi
port=$(sed -nE 's/^listening on [^ ]*:([0-9]+) .*/\1/p' "$work/serve.log")
[[ -n "$port" ]] || { echo "the server did not start"; exit 1; }
echo "== zklora infer --base-model demo/model --port $port"
zklora infer --base-model "$work/demo/model" --port "$port" --text "the cat sat on the mat" \
  --transcript "$work/transcript.json" --session-id demo
echo "== zklora verify --proof-dir a-out/proofs --transcript transcript.json --expected-adapters pinned-manifest.json"
zklora verify --proof-dir "$work/a-out/proofs" --transcript "$work/transcript.json" --expected-adapters "$work/pinned-manifest.json"
# A verifier that pinned only the digest serve printed takes the manifest file from the contributor.
digest=$(sed -nE 's/^manifest sha256: ([0-9a-f]{64})$/\1/p' "$work/serve.log")
[[ -n "$digest" ]] || { echo "serve printed no manifest digest"; exit 1; }
echo "== zklora verify … --expected-adapters a-out/manifest.json --expected-adapters-sha256 $digest (pinned by digest only)"
zklora verify --proof-dir "$work/a-out/proofs" --transcript "$work/transcript.json" \
  --expected-adapters "$work/a-out/manifest.json" --expected-adapters-sha256 "$digest"
kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
echo "== zklora demo (the whole flow in one process, default backend: projection)"
zklora demo
echo "== zklora demo --backend plonk (the same flow on the PLONK backend)"
zklora demo --backend plonk
