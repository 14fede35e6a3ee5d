import { describe, expect, it } from "vitest";
import { decideLease, type Lease } from "./leader-election.js";

const now = Date.parse("2026-11-23T10:00:30Z");
const lease = (holder: string, renewed: string, seconds = 15): Lease => ({
  spec: { holderIdentity: holder, renewTime: renewed, leaseDurationSeconds: seconds },
});

describe("decideLease", () => {
  it.each<[string, Lease | undefined, string]>([
    ["no lease yet", undefined, "create"],
    ["we hold it", lease("me", "2026-11-23T10:00:29.000000Z"), "renew"],
    ["we hold it even if stale", lease("me", "2026-11-23T09:00:00.000000Z"), "renew"],
    ["another holder renewed recently", lease("other", "2026-11-23T10:00:20.000000Z"), "wait"],
    ["another holder just inside the duration", lease("other", "2026-11-23T10:00:15.001000Z"), "wait"],
    ["another holder expired exactly", lease("other", "2026-11-23T10:00:15.000000Z"), "takeover"],
    ["another holder long gone", lease("other", "2026-11-23T09:00:00.000000Z"), "takeover"],
    ["released (empty holder)", lease("", "2026-11-23T10:00:29.000000Z"), "takeover"],
    ["unparseable renew time", { spec: { holderIdentity: "other" } }, "takeover"],
  ])("%s → %s", (_label, current, decision) => {
    expect(decideLease(current, "me", now, 15_000)).toBe(decision);
  });
});
