#!/usr/bin/env bash
# `make e2e-kind`: the platform suite on a kind cluster, for machines with a container engine. It cannot run
# on the development machines (no Docker); `make e2e` runs the same suite on the local control plane.
#   1. create the kind cluster (cluster.yaml: NodePorts mapped to the host), build the image (Dockerfile)
#      and load it into the nodes;
#   2. install Kafka, ClickHouse, Redis, Alertmanager and the webhook receiver in-cluster (services.yaml,
#      namespace tally-deps) and wait for them;
#   3. run the platform suite with TALLY_E2E_TARGET=kind and the cluster's kubeconfig: it helm-installs
#      charts/tally itself (image tally:e2e, test/e2e/target-ops.ts) and reaches the services from the host
#      through the mapped NodePorts (test/e2e/target.ts);
#   4. delete the cluster (also on failure; TALLY_E2E_KEEP=1 keeps it for debugging).
# kubectl, helm and the Kafka jars (the dead-letter reader) come from `make setup`'s cache, as for `make e2e`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
here="$root/test/e2e/kind"
cluster=tally-e2e
# target-ops.ts installs the chart with this image (kindImage there).
image=tally:e2e
export PATH="${TALLY_CACHE_DIR:-$HOME/.cache/tally}/bin:$PATH"
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
# The webhook receiver runs the local stack's own (test/env/webhook-sink/main.ts), mounted from this ConfigMap.
kubectl -n tally-deps create configmap webhook-sink --from-file=main.ts="$root/test/env/webhook-sink/main.ts" \
  --dry-run=client -o yaml | kubectl apply -f -
for workload in statefulset/kafka statefulset/clickhouse statefulset/redis deployment/alertmanager deployment/webhook-sink; do
  kubectl -n tally-deps rollout status "$workload" --timeout=300s
done
cd "$root"
# The autoscaling suite is local-only (it runs the operator as a local process): the platform suite here.
TALLY_E2E_TARGET=kind npx --no-install vitest run --project e2e test/e2e/platform.e2e.test.ts
