#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine with the .NET 10 SDK lacks, then restores packages.
# Idempotent; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required (dotnet was not found on PATH)." >&2
  exit 1
fi

dotnet restore ZkLora.sln -nologo
