/**
 * The alert notifiers against real receivers: the stack's Alertmanager (which delivers to the
 * webhook sink, group_wait 1 s, group_interval 2 s, send_resolved) and small HTTP receivers in
 * this file that keep each request's headers and raw body, as a receiver verifying signatures must.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { AlertNotification } from "../../gateway/alerts/notification.js";
import { AlertmanagerSender, alertmanagerPayload } from "../../gateway/alerts/notify-alertmanager.js";
import { ChannelOutcomes } from "../../gateway/alerts/notify-outcomes.js";
import { verifyWebhook } from "../../gateway/alerts/notify-signature.js";
import { WebhookSender } from "../../gateway/alerts/notify-webhook.js";
import { alertmanagerUrl, webhookSinkUrl } from "../env/config.js";
import { eventually } from "../support/eventually.js";

const logger = pino({ level: "silent" });
const evalIntervalMs = 10_000;
const resendDelayMs = 60_000;
const newKey = () => `whsec_${randomBytes(32).toString("base64")}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Fails as soon as `check` does within `durationMs`: "nothing more arrives", polled, not slept on. */
async function consistently(check: () => Promise<void>, durationMs: number, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    await check();
    await sleep(intervalMs);
  }
  await check();
}

function firingNotification(alertname: string): AlertNotification {
  return {
    ruleNamespace: "tally-it",
    ruleName: alertname.toLowerCase(),
    ruleUid: randomUUID(),
    severity: "warning",
    labels: { alertname, namespace: "tally-it", severity: "warning", region: "eu" },
    annotations: { summary: "checkout errors above 5/min" },
    status: "firing",
    startsAtMs: Date.now() - 30_000,
    value: 7,
    idempotencyId: `${alertname}-firing`,
    generatorURL: `http://127.0.0.1:8090/alerts/tally-it/${alertname.toLowerCase()}`,
  };
}

interface SinkAlert {
  status: string;
  labels: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}
interface SinkRecord {
  path: string;
  body: { status?: string; alerts?: SinkAlert[] };
}

async function sinkDeliveries(path: string, alertname: string): Promise<SinkRecord[]> {
  const records = (await (
    await fetch(`${webhookSinkUrl}/received?path=${encodeURIComponent(path)}`)
  ).json()) as SinkRecord[];
  return records.filter((r) => r.body.alerts?.some((a) => a.labels.alertname === alertname));
}

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A receiver on a free port answering each request with `respond(n)` (n from 1). */
async function receiver(respond: (n: number, response: ServerResponse) => void) {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      respond(received.length, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T0KEN`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  servers.push(close);
  return { url, received };
}
const servers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((close) => close()));
});

describe("Alertmanager channel", () => {
  it("one firing and one resolved alert, each re-sent as the contract asks, reach the receiver exactly once each", async () => {
    const alertname = `TallyNotify${randomUUID().slice(0, 8)}`;
    const outcomes = new ChannelOutcomes();
    const sender = new AlertmanagerSender({ outcomes, logger });
    const channel = { type: "alertmanager" as const, name: "am", url: alertmanagerUrl };
    const firing = firingNotification(alertname);

    // The first send and a resend (the evaluator re-sends every resend delay): one notification.
    for (let i = 0; i < 2; i++)
      await sender.send(
        "tally-it",
        firing.ruleName,
        channel,
        alertmanagerPayload([firing], Date.now(), evalIntervalMs, resendDelayMs),
      );
    const fired = await eventually(async () => {
      const [first] = await sinkDeliveries("/alertmanager", alertname);
      if (first === undefined) throw new Error(`no firing delivery for ${alertname} yet`);
      return first;
    }, 30_000);
    expect(fired.body.status).toBe("firing");
    const firedAlert = fired.body.alerts?.[0];
    expect(firedAlert?.labels).toEqual({
      alertname,
      namespace: "tally-it",
      severity: "warning",
      region: "eu",
    });
    expect(Date.parse(firedAlert?.startsAt ?? "")).toBe(firing.startsAtMs);
    expect(firedAlert?.generatorURL).toBe(firing.generatorURL);

    const resolvedAtMs = Date.now();
    const resolved: AlertNotification = {
      ...firing,
      status: "resolved",
      resolvedAtMs,
      idempotencyId: `${alertname}-resolved`,
    };
    // The resolution and its resend within the 15-minute window: one notification.
    for (let i = 0; i < 2; i++)
      await sender.send(
        "tally-it",
        firing.ruleName,
        channel,
        alertmanagerPayload([resolved], Date.now(), evalIntervalMs, resendDelayMs),
      );
    const ended = await eventually(async () => {
      const found = (await sinkDeliveries("/alertmanager", alertname)).find(
        (r) => r.body.status === "resolved",
      );
      if (found === undefined) throw new Error(`no resolved delivery for ${alertname} yet`);
      return found;
    }, 30_000);
    expect(Date.parse(ended.body.alerts?.[0]?.endsAt ?? "")).toBe(resolvedAtMs);

    // Four group intervals more: a duplicate would have been flushed by then.
    await consistently(async () => {
      const statuses = (await sinkDeliveries("/alertmanager", alertname)).map((r) => r.body.status);
      expect(statuses).toEqual(["firing", "resolved"]);
    }, 8_000);
    expect(outcomes.forRule("tally-it", firing.ruleName)).toMatchObject([
      { channel: "am", ok: true, consecutiveFailures: 0 },
    ]);
  });

  it("a refused payload fails with the rule, channel and status named, and shows in the outcomes", async () => {
    const outcomes = new ChannelOutcomes();
    const sender = new AlertmanagerSender({ outcomes, logger });
    const channel = { type: "alertmanager" as const, name: "am", url: alertmanagerUrl };
    // No labels: Alertmanager refuses the alert (422 or 400 by version).
    const unlabelled: AlertNotification = { ...firingNotification("Unlabelled"), labels: {} };
    const payload = alertmanagerPayload([unlabelled], Date.now(), evalIntervalMs, resendDelayMs);
    await expect(sender.send("tally-it", "bad-rule", channel, payload)).rejects.toThrow(
      /AlertRule tally-it\/bad-rule channel am \(Alertmanager http:\/\/127\.0\.0\.1:\d+\/api\/v2\/alerts\): HTTP 4\d\d/,
    );
    expect(outcomes.forRule("tally-it", "bad-rule")).toMatchObject([
      { channel: "am", ok: false, consecutiveFailures: 1 },
    ]);
  });
});

describe("webhook channel", () => {
  it("a signed delivery verifies with the key, with the old key during a rotation, and not with a wrong key", async () => {
    const { url, received } = await receiver((_n, response) => response.end("ok"));
    const [key, oldKey] = [newKey(), newKey()];
    const n = firingNotification(`TallyHook${randomUUID().slice(0, 8)}`);
    const sender = new WebhookSender({ outcomes: new ChannelOutcomes(), logger });

    const delivery = await sender.send("oncall", url, n, [key, oldKey]);
    expect(delivery).toEqual({ ok: true, attempts: 1, status: 200 });
    expect(received).toHaveLength(1);
    const [{ headers, body } = { headers: {}, body: "" }] = received;
    expect(headers["webhook-id"]).toBe(n.idempotencyId);
    expect(JSON.parse(body)).toMatchObject({ id: n.idempotencyId, type: "alert.firing" });
    expect(verifyWebhook(headers, body, key, 300, nowSeconds())).toEqual({ ok: true });
    expect(verifyWebhook(headers, body, oldKey, 300, nowSeconds())).toEqual({ ok: true });
    expect(verifyWebhook(headers, body, newKey(), 300, nowSeconds())).toMatchObject({
      ok: false,
      reason: "NoMatchingSignature",
    });
    expect(
      verifyWebhook(headers, body.replace('"value":7', '"value":8'), key, 300, nowSeconds()),
    ).toMatchObject({
      ok: false,
      reason: "NoMatchingSignature",
    });
  });

  it("reaches the stack's webhook sink with the body as sent", async () => {
    const path = `/tally-webhook/${randomUUID()}`;
    const n = firingNotification(`TallyHook${randomUUID().slice(0, 8)}`);
    const sender = new WebhookSender({ outcomes: new ChannelOutcomes(), logger });
    expect((await sender.send("oncall", `${webhookSinkUrl}${path}`, n, [newKey()])).ok).toBe(true);
    const records = (await (
      await fetch(`${webhookSinkUrl}/received?path=${encodeURIComponent(path)}`)
    ).json()) as { body: unknown }[];
    expect(records).toHaveLength(1);
    expect(records[0]?.body).toMatchObject({
      id: n.idempotencyId,
      type: "alert.firing",
      data: { labels: n.labels, value: 7, rule: { namespace: "tally-it", name: n.ruleName } },
    });
  });

  it("an endpoint failing twice then succeeding gets the same webhook-id and body on each attempt: one delivery", async () => {
    const { url, received } = await receiver((n, response) => {
      response.statusCode = n <= 2 ? 503 : 200;
      response.end(n <= 2 ? "busy" : "ok");
    });
    const key = newKey();
    const outcomes = new ChannelOutcomes();
    const sender = new WebhookSender({
      outcomes,
      logger,
      policy: { attempts: 5, baseDelayMs: 200, maxDelayMs: 2000 },
    });
    const n = firingNotification(`TallyHook${randomUUID().slice(0, 8)}`);

    expect(await sender.send("oncall", url, n, [key])).toEqual({ ok: true, attempts: 3, status: 200 });
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.headers["webhook-id"]))).toEqual(new Set([n.idempotencyId]));
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    // Each attempt is signed afresh, and each verifies.
    for (const { headers, body } of received)
      expect(verifyWebhook(headers, body, key, 300, nowSeconds()).ok).toBe(true);
    expect(outcomes.forRule("tally-it", n.ruleName)).toMatchObject([
      {
        channel: "oncall",
        ok: true,
        consecutiveFailures: 0,
        message: "delivered (HTTP 200) after 3 attempts",
      },
    ]);
  });

  it("a channel that hangs does not hold up another; when it keeps failing it gives up and says why", async () => {
    const held: ServerResponse[] = [];
    const slow = await receiver((_n, response) => held.push(response));
    const fast = await receiver((_n, response) => response.end("ok"));
    const outcomes = new ChannelOutcomes();
    const sender = new WebhookSender({
      outcomes,
      logger,
      policy: { attempts: 2, baseDelayMs: 100, maxDelayMs: 1000 },
    });
    const n = firingNotification(`TallyHook${randomUUID().slice(0, 8)}`);

    let slowSettled = false;
    const slowDelivery = sender.send("slow", slow.url, n, []).finally(() => {
      slowSettled = true;
    });
    await eventually(async () => expect(held).toHaveLength(1), 10_000);
    expect(await sender.send("fast", fast.url, n, [])).toMatchObject({ ok: true });
    expect(slowSettled).toBe(false);

    // Release it with a failure: it retries once more, fails again and gives up.
    held.splice(0).forEach((response) => {
      response.statusCode = 503;
      response.end("busy");
    });
    await eventually(async () => expect(held).toHaveLength(1), 10_000);
    held.splice(0).forEach((response) => {
      response.statusCode = 503;
      response.end("busy");
    });
    expect(await slowDelivery).toEqual({
      ok: false,
      attempts: 2,
      message: "HTTP 503: busy; gave up after 2 attempt(s)",
    });
    const [fastOutcome, slowOutcome] = outcomes.forRule("tally-it", n.ruleName);
    expect(fastOutcome).toMatchObject({ channel: "fast", ok: true });
    expect(slowOutcome).toMatchObject({ channel: "slow", ok: false, consecutiveFailures: 1 });
    // The URL came from a Secret and may hold a token: it is in no message.
    expect(slowOutcome?.message).not.toContain("T0KEN");
  });

  it("does not retry a refusal that retrying cannot change (404)", async () => {
    const { url, received } = await receiver((_n, response) => {
      response.statusCode = 404;
      response.end();
    });
    const sender = new WebhookSender({ outcomes: new ChannelOutcomes(), logger });
    const n = firingNotification(`TallyHook${randomUUID().slice(0, 8)}`);
    expect(await sender.send("oncall", url, n, [])).toEqual({
      ok: false,
      attempts: 1,
      message: "HTTP 404; gave up after 1 attempt(s)",
    });
    expect(received).toHaveLength(1);
  });
});
