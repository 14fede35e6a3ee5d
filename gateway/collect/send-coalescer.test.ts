import { describe, expect, it } from "vitest";
import { SendCoalescer } from "./send-coalescer.js";

// A stand-in send whose acknowledgements the test gives by hand.
function harness(maxBytes = 100) {
  const sends: string[][] = [];
  const acks: ((error?: Error) => void)[] = [];
  const coalescer = new SendCoalescer<string>(
    (items) =>
      new Promise<void>((resolve, reject) => {
        sends.push([...items]);
        acks.push((error) => (error === undefined ? resolve() : reject(error)));
      }),
    (item) => item.length,
    maxBytes,
  );
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
  return { coalescer, sends, acks, tick };
}

describe("send coalescer", () => {
  it("sends at once when idle, and what arrives meanwhile together in the next send", async () => {
    const { coalescer, sends, acks, tick } = harness();
    const done: string[] = [];
    const submit = (item: string) => coalescer.submit(item).then(() => done.push(item));
    void submit("a");
    await tick();
    expect(sends).toEqual([["a"]]);
    for (const item of ["b", "c", "d"]) void submit(item);
    await tick();
    expect(sends).toHaveLength(1); // one send out at a time
    acks[0]?.();
    await tick();
    expect(done).toEqual(["a"]);
    expect(sends).toEqual([["a"], ["b", "c", "d"]]);
    acks[1]?.();
    await tick();
    expect(done).toEqual(["a", "b", "c", "d"]);
  });

  it("rejects every request of a failed send, and only those", async () => {
    const { coalescer, sends, acks, tick } = harness();
    const outcome = (item: string) =>
      coalescer.submit(item).then(
        () => `${item} ok`,
        (error: Error) => `${item} ${error.message}`,
      );
    const first = outcome("a");
    await tick();
    const later = [outcome("b"), outcome("c")];
    acks[0]?.(new Error("broker away"));
    await tick();
    acks[1]?.();
    expect(await Promise.all([first, ...later])).toEqual(["a broker away", "b ok", "c ok"]);
    expect(sends).toEqual([["a"], ["b", "c"]]);
  });

  it("caps a send at maxBytes, a larger request alone", async () => {
    const { coalescer, sends, acks, tick } = harness(10);
    void coalescer.submit("x");
    await tick();
    for (const item of ["aaaa", "bbbb", "cccc", "d".repeat(20)]) void coalescer.submit(item);
    for (let i = 0; i < 4; i++) {
      acks[i]?.();
      await tick();
    }
    expect(sends).toEqual([["x"], ["aaaa", "bbbb"], ["cccc"], ["d".repeat(20)]]);
  });
});
