import { describe, expect, it } from "vitest";
import { type HorizontalPodAutoscaler, hpaTargeting } from "./hpa-stand-down.js";

function hpa(
  name: string,
  ref: { apiVersion?: string; kind?: string; name?: string },
): HorizontalPodAutoscaler {
  return { metadata: { name, namespace: "ns" }, spec: { scaleTargetRef: ref } };
}

describe("hpaTargeting", () => {
  it("finds the HPA that scales this Pipeline", () => {
    const hpas = [
      hpa("web", { apiVersion: "apps/v1", kind: "Deployment", name: "clicks" }),
      hpa("other-pipeline", { apiVersion: "tally.dev/v1alpha1", kind: "Pipeline", name: "orders" }),
      hpa("clicks-hpa", { apiVersion: "tally.dev/v1alpha1", kind: "Pipeline", name: "clicks" }),
    ];
    expect(hpaTargeting(hpas, "clicks")).toBe("clicks-hpa");
    expect(hpaTargeting(hpas, "orders")).toBe("other-pipeline");
  });

  it("ignores HPAs on other kinds or groups with the same name", () => {
    expect(
      hpaTargeting([hpa("a", { apiVersion: "apps/v1", kind: "Deployment", name: "clicks" })], "clicks"),
    ).toBe(undefined);
    expect(
      hpaTargeting([hpa("b", { apiVersion: "example.com/v1", kind: "Pipeline", name: "clicks" })], "clicks"),
    ).toBe(undefined);
    expect(hpaTargeting([{ metadata: { name: "c" } }], "clicks")).toBeUndefined();
    expect(hpaTargeting([], "clicks")).toBeUndefined();
  });
});
