#!/usr/bin/env bash
# Builds the solution in Release and runs every test suite:
#  - Expecto suites (F#) run as console programs (the dotnet-test adapter for
#    Expecto is not on the package feed);
#  - xunit suites (C#) run through `dotnet test`.
# Prints each suite's result, then `N skipped`, and ends with one line `N passed, N failed`
# (the form CI reads).
# Exit code: 0 only when every suite ran and nothing failed.
set -euo pipefail
cd "$(dirname "$0")/.."

results_dir="${ZKLORA_TEST_RESULTS:-$(mktemp -d)}"
mkdir -p "$results_dir"

echo "== build (Release)"
dotnet build ZkLora.sln -c Release -nologo -v minimal

passed=0; failed=0; skipped=0; broken=0

# Expecto ends with: "EXPECTO! N tests run in T for S – P passed, I ignored, F failed, E errored. ..."
run_expecto() {
  local name=$1 dll="tests/$1/bin/Release/net10.0/$1.dll" log="$results_dir/$1.log"
  echo "== $name (Expecto)"
  set +e
  dotnet "$dll" --summary --colours 0 --no-spinner 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local line
  line=$(grep -E 'EXPECTO!? .* passed, [0-9]+ ignored, [0-9]+ failed, [0-9]+ errored' "$log" | tail -n 1 || true)
  if [[ -z "$line" ]]; then
    echo "!! $name produced no Expecto summary (exit $rc)"; broken=$((broken + 1)); return
  fi
  local p i f e
  p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")
  i=$(sed -E 's/.* ([0-9]+) ignored.*/\1/' <<<"$line")
  f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  e=$(sed -E 's/.* ([0-9]+) errored.*/\1/' <<<"$line")
  passed=$((passed + p)); skipped=$((skipped + i)); failed=$((failed + f + e))
  if [[ $rc -ne 0 && $((f + e)) -eq 0 ]]; then broken=$((broken + 1)); fi
}

# xunit through dotnet test; counts come from the TRX file's <Counters>.
run_xunit() {
  local name=$1 trx="$results_dir/$1.trx"
  echo "== $name (xunit)"
  set +e
  dotnet test "tests/$name/$name.csproj" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$trx" --logger "console;verbosity=normal"
  local rc=$?
  set -e
  if [[ ! -f "$trx" ]]; then
    echo "!! $name produced no TRX result (exit $rc)"; broken=$((broken + 1)); return
  fi
  local counters
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  local p f n
  p=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
  f=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
  n=$(sed -E 's/.* notExecuted="([0-9]+)".*/\1/' <<<"$counters")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + n))
  if [[ $rc -ne 0 && $f -eq 0 ]]; then broken=$((broken + 1)); fi
}

for dir in tests/*/; do
  name=$(basename "$dir")
  if [[ -f "$dir/$name.fsproj" ]] && grep -q '<PackageReference Include="Expecto"' "$dir/$name.fsproj"; then
    run_expecto "$name"
  elif [[ -f "$dir/$name.csproj" || -f "$dir/$name.fsproj" ]]; then
    run_xunit "$name"
  fi
done

if [[ $broken -gt 0 ]]; then
  echo "!! $broken suite(s) crashed or reported no results"
fi
echo "$skipped skipped"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $broken -eq 0 && $passed -gt 0 ]]
