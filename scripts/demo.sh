#!/usr/bin/env bash
# The main job. Until the multi-party demo exists (`zklora demo`), this runs what the
# zklora command can do today: build the deterministic demo model and adapter, then
# commit to a file of activations, verify the commitment and open one position.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
dotnet build src/ZkLora.Cli -c Release -nologo -v quiet >/dev/null
zklora() { dotnet "src/ZkLora.Cli/bin/Release/net10.0/zklora.dll" "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== zklora info"; zklora info
echo "== zklora init-demo $work/demo"; zklora init-demo "$work/demo"
echo '{"input_data": [[0.25, -1.5, 3.0], [1e-7, 42, -0.0]]}' > "$work/acts.json"
echo "== zklora commit acts.json"; zklora commit "$work/acts.json" | tee "$work/commitment.json"
echo "== zklora verify-commitment acts.json commitment.json"; zklora verify-commitment "$work/acts.json" "$work/commitment.json"
echo "== zklora open acts.json --index 4"; zklora open "$work/acts.json" --index 4 --commitment "$work/commitment.json" | tee "$work/opening.json"
root=$(sed -E 's/.*"root":"([^"]+)".*/\1/' "$work/commitment.json")
echo "== zklora verify-opening opening.json --root $root"; zklora verify-opening "$work/opening.json" --root "$root"
