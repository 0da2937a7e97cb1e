#!/usr/bin/env bash
# Independent locator (GNU binutils readelf) for the two fields the GLIBCXX_3.4.32 fix edits in
# TorchSharp 0.107.0's runtimes/linux-x64/native/libLibTorchSharp.so. The test suite pins these values
# together with the file's SHA-256.
# Usage: bash tests/vectors/libtorchsharp_elf_offsets.sh ~/.nuget/packages/torchsharp/0.107.0/runtimes/linux-x64/native/libLibTorchSharp.so
set -euo pipefail
so=$1
sha256sum "$so"
section_offset() { echo $((16#$(readelf -S -W "$so" | awk -v n="$1" '{ sub(/^ *\[ *[0-9]+\] */, ""); if ($1 == n) print $4 }'))); }
dynsym=$(section_offset .dynsym)
versym=$(section_offset .gnu.version)
verneed=$(section_offset .gnu.version_r)
index=$(readelf --dyn-syms -W "$so" | awk '/ _ZSt21ios_base_library_initv@/ { sub(":", "", $1); print $1 }')
aux=$(( $(readelf -V -W "$so" | awk '/Name: GLIBCXX_3.4.32/ { sub(":", "", $1); print $1 }') ))
echo "dynsym_offset=$dynsym versym_offset=$versym symbol_index=$index"
echo "st_info_offset=$((dynsym + 24 * index + 4)) vna_flags_offset=$((verneed + aux + 4))"
