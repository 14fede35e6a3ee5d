/**
 * Labels and annotations Tally puts on what it creates. `tally.dev/component` is also what the local
 * pod-runner looks for to start a real process per pod.
 */
const componentLabel = "tally.dev/component";
const pipelineLabel = "tally.dev/pipeline";
export const configHashAnnotation = "tally.dev/config-hash";
export const fieldManager = "tally-operator";

const components = {
  pipelineWorker: "pipeline-worker",
  gateway: "gateway",
  operator: "operator",
} as const;

export function pipelineSelectorLabels(name: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "tally-runtime",
    "app.kubernetes.io/instance": name,
    [componentLabel]: components.pipelineWorker,
    [pipelineLabel]: name,
  };
}

export function pipelineLabels(name: string, version: string): Record<string, string> {
  return {
    ...pipelineSelectorLabels(name),
    "app.kubernetes.io/part-of": "tally",
    "app.kubernetes.io/managed-by": fieldManager,
    "app.kubernetes.io/version": version,
  };
}

/** Renders a label selector string (`a=b,c=d`) as the scale subresource reports it. */
export function renderSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}
