import { describe, expect, it } from "vitest";
import { FrameSlot } from "./frame-slot.js";

describe("a connection's frame slot", () => {
  it("writes at once while the socket takes frames", () => {
    const slot = new FrameSlot();
    expect(slot.offer("a")).toEqual({ kind: "write", frame: "a" });
    slot.wrote(true);
    expect(slot.offer("b")).toEqual({ kind: "write", frame: "b" });
    expect(slot.idle).toBe(true);
  });

  it("holds one frame while the socket is full, replacing it with newer ones (counted as dropped)", () => {
    const slot = new FrameSlot();
    slot.wrote(false);
    expect(slot.idle).toBe(false);
    expect(slot.offer("b")).toEqual({ kind: "held", dropped: false });
    expect(slot.offer("c")).toEqual({ kind: "held", dropped: true });
    expect(slot.offer("d")).toEqual({ kind: "held", dropped: true });
    // Only the latest is sent once the socket drains; nothing else is queued.
    expect(slot.drained()).toBe("d");
    expect(slot.drained()).toBeUndefined();
    expect(slot.idle).toBe(true);
  });

  it("a drain with nothing held leaves the slot writable", () => {
    const slot = new FrameSlot();
    slot.wrote(false);
    expect(slot.drained()).toBeUndefined();
    expect(slot.offer("x")).toEqual({ kind: "write", frame: "x" });
  });
});
