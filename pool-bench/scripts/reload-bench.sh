#!/bin/bash
# The JSON handler with and without a reload every 1000 requests, side by side, alternating, three rounds per
# engine and isolation policy (BENCHMARKS.md, "Reload while serving"). Run from the workspace root after
# `cargo build --release -p pool-bench`. Prints: policy engine round variant ops/s p99_us reloads mean_reload_ms
# affected_p99_us.
set -euo pipefail
B=${VMPOOL_BENCH:-target/release/vmpool-bench}
REQUESTS=${REQUESTS:-400000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo 'function handle(input){ return JSON.stringify({sum: input.items.reduce((a,b)=>a+b,0), n: input.items.length}) }' > "$dir/json.js"
echo 'function handle(input) local s=0 for _,v in ipairs(input.items) do s=s+v end return string.format('"'"'{"sum":%d,"n":%d}'"'"', s, #input.items) end' > "$dir/json.lua"
printf '[vm_pool]\nmax_size = 8\n' > "$dir/strict.toml"
printf '[vm_pool]\nmax_size = 8\nisolation = "none"\n' > "$dir/none.toml"
input='{"items":[1,2,3,4,5,6,7,8,9,10]}'
for policy in strict none; do
  for engine in quickjs lua; do
    ext=js; [ "$engine" = lua ] && ext=lua
    for round in 1 2 3; do
      for variant in "" "--reload-every 1000"; do
        # shellcheck disable=SC2086
        out=$("$B" run --engine "$engine" --script "$dir/json.$ext" --input "$input" --config "$dir/$policy.toml" \
          --requests "$REQUESTS" --concurrency 2 $variant --json)
        echo "$policy $engine round$round ${variant:-no-reload} $(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); r=d.get("reloads") or {}; print(round(d["ops_per_s"]), d["p99_us"], r.get("reloads"), r.get("mean_reload_ms"), r.get("affected_p99_us"))')"
      done
    done
  done
done
