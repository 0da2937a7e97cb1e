#!/usr/bin/env bash
# The main job. Until the multi-party demo exists (`zklora demo`), this shows what
# the zklora command can do today.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
dotnet build src/ZkLora.Cli -c Release -nologo -v quiet
zklora() { dotnet "src/ZkLora.Cli/bin/Release/net10.0/zklora.dll" "$@"; }
zklora info
