#!/usr/bin/env bash
# Every benchmark at the issue's sizes, one after another (never two at once: they would share the
# machine's cores), then bench/REPORT.md. About an hour on a 2-core machine; needs PostgreSQL and Redis
# as the tests do. A benchmark that fails is reported and the rest still run.
#   bash bench/run-all.sh [name…]     e.g. bash bench/run-all.sh hot-path scale
set -uo pipefail
cd "$(dirname "$0")/.."

npm run build --silent || exit 1

declare -A RUNS=(
  [hot-path]="bench/hot-path.ts"
  [real-route]="bench/real-route.ts"
  [audit-cost]="bench/audit-cost.ts"
  [audit-cost-postgres]="bench/audit-cost.ts --postgres"
  [cold-keys]="bench/cold-keys.ts"
  [cold-keys-postgres]="bench/cold-keys.ts --postgres"
  [cold-keys-c1]="bench/cold-keys.ts --connections 1"
  [cold-keys-postgres-c1]="bench/cold-keys.ts --postgres --connections 1"
  [under-attack]="bench/under-attack.ts"
  [under-attack-postgres]="bench/under-attack.ts --postgres"
  [multi-instance]="bench/multi-instance.ts"
  [revoke-latency]="bench/revoke-latency.ts"
  [lookup-timing]="bench/lookup-timing.ts"
  [audit-queries]="bench/audit-queries.ts"
  [scale]="bench/scale.ts"
  [memory]="bench/memory.ts"
  [verify]="bench/verify.ts"
  [sdk-middleware]="bench/sdk-middleware.ts"
  [gateway]="bench/gateway.ts"
  [gateway-postgres]="bench/gateway.ts --postgres"
)
ORDER=(hot-path real-route audit-cost audit-cost-postgres cold-keys cold-keys-postgres cold-keys-c1 cold-keys-postgres-c1 under-attack under-attack-postgres multi-instance revoke-latency lookup-timing audit-queries scale memory verify sdk-middleware gateway gateway-postgres)

failed=()
for name in "${@:-${ORDER[@]}}"; do
  [[ -v RUNS[$name] ]] || { echo "unknown benchmark: $name (one of: ${ORDER[*]})" >&2; exit 2; }
  echo "=== $name: node --import tsx ${RUNS[$name]} ($(date -u +%H:%M:%S))"
  # shellcheck disable=SC2086
  node --import tsx ${RUNS[$name]} || failed+=("$name")
done
node --import tsx bench/report.ts
if ((${#failed[@]})); then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
