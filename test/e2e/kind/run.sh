#!/usr/bin/env bash
# `make e2e-kind`: the platform suite on a kind cluster, for machines with a container engine. It cannot run
# on the development machines (no Docker); `make e2e` runs the same suite on the local control plane.
#   1. create the kind cluster (cluster.yaml), build the image (Dockerfile) and load it into the nodes;
#   2. install Kafka, ClickHouse, Redis and Alertmanager in-cluster (services.yaml) and wait for them;
#   3. helm install charts/tally pointing at them;
#   4. run the e2e project with TALLY_E2E_TARGET=kind and the cluster's kubeconfig;
#   5. delete the cluster (also on failure; TALLY_E2E_KEEP=1 keeps it for debugging).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
here="$root/test/e2e/kind"
cluster=tally-e2e
image=tally:e2e
kubeconfig="$(mktemp -t tally-kind-kubeconfig.XXXXXX)"
cleanup() {
  if [ "${TALLY_E2E_KEEP:-0}" != 1 ]; then kind delete cluster --name "$cluster" >/dev/null 2>&1 || true; fi
  rm -f "$kubeconfig"
}
trap cleanup EXIT

kind create cluster --config "$here/cluster.yaml" --kubeconfig "$kubeconfig" --wait 120s
docker build -t "$image" "$root"
kind load docker-image "$image" --name "$cluster"
export KUBECONFIG="$kubeconfig"
kubectl apply -f "$here/services.yaml"
for d in statefulset/kafka deployment/clickhouse deployment/redis deployment/alertmanager; do
  kubectl -n tally-deps rollout status "$d" --timeout=300s
done
helm install tally "$root/charts/tally" -n tally-system --create-namespace --wait --timeout 300s \
  --set image.repository=tally --set image.tag=e2e --set image.pullPolicy=Never \
  --set gateway.clickhouse.url=http://clickhouse.tally-deps.svc:8123 \
  --set gateway.redisUrl=redis://redis.tally-deps.svc:6379
cd "$root"
TALLY_E2E_TARGET=kind npx --no-install vitest run --project e2e
