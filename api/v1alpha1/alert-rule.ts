import { type Static, Type } from "@sinclair/typebox";
import { FilterList } from "./aggregation.js";
import { alertRuleDefaults as defaults } from "./defaults.js";
import {
  Conditions,
  celRules,
  Duration,
  Identifier,
  identifierPattern,
  ObjectName,
  ObservedGeneration,
  SecretKeyRef,
} from "./schema-kit.js";

const Comparison = Type.Union(
  [
    Type.Literal("gt"),
    Type.Literal("gte"),
    Type.Literal("lt"),
    Type.Literal("lte"),
    Type.Literal("eq"),
    Type.Literal("ne"),
  ],
  { description: "Comparison: gt, gte, lt, lte, eq, ne." },
);

const AlertCondition = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal("threshold", { description: "Compare the value with a threshold." }),
        operator: Comparison,
        value: Type.Number({ description: "The threshold." }),
      },
      { description: "Breaching while value <operator> threshold." },
    ),
    Type.Object(
      {
        type: Type.Literal("change", { description: "Compare the change over a period with a threshold." }),
        operator: Comparison,
        value: Type.Number({ description: "The threshold for the change." }),
        over: Duration("The period the change is measured over."),
        relative: Type.Optional(
          Type.Boolean({ description: "Measure the change in percent instead of absolute (default false)." }),
        ),
      },
      { description: "Breaching while the change over `over` <operator> threshold." },
    ),
  ],
  { description: "When a series is breaching; `type` selects which fields apply." },
);

const Channel = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal("webhook", { description: "POST a JSON notification." }),
        name: Identifier("Channel name."),
        urlSecretRef: SecretKeyRef("Secret key holding the webhook URL (it often embeds a token)."),
      },
      { description: "A webhook." },
    ),
    Type.Object(
      {
        type: Type.Literal("alertmanager", { description: "Send to Alertmanager's v2 API." }),
        name: Identifier("Channel name."),
        url: Type.String({
          description: "Alertmanager base URL.",
          format: "uri",
          pattern: "^https?://",
          maxLength: 2048,
        }),
      },
      { description: "An Alertmanager." },
    ),
  ],
  { description: "A notification channel; `type` selects which fields apply." },
);

export const AlertRuleSpec = Type.Object(
  {
    query: Type.Object(
      {
        source: Type.Object(
          {
            kind: Type.Union([Type.Literal("Rollup"), Type.Literal("Window")], {
              description: "Rollup: a Rollup's metric. Window: a pipeline's live window.",
            }),
            name: ObjectName("The Rollup, or the Pipeline owning the window."),
            window: Type.Optional(Identifier("With kind Window: the window's name in the pipeline.")),
          },
          {
            description: "Where the metric comes from.",
            ...celRules({
              rule: "(self.kind == 'Window') == has(self.window)",
              message: "window is required with kind Window and not allowed with kind Rollup",
              fieldPath: ".window",
            }),
          },
        ),
        metric: Identifier("The metric (rollup metric or window aggregation) watched."),
        filters: FilterList("Only rows matching every condition count."),
        groupBy: Type.Array(Identifier("A dimension of the source."), {
          description: "Each distinct value combination is its own alert series.",
          maxItems: 8,
          default: defaults["query.groupBy"],
        }),
        range: Duration(
          "The value is the metric aggregated over this trailing range. For a Window source, the value of the latest window instance that ended within it (a 1m window with range 1m finds the minute that just closed).",
          {
            default: defaults["query.range"],
          },
        ),
      },
      { description: "The metric query evaluated each interval." },
    ),
    condition: AlertCondition,
    interval: Duration("How often the rule is evaluated.", { default: defaults.interval }),
    for: Duration(
      "How long a series must breach before it fires, and how long no data or errors must last before NoData or Error is notified (Pending until then). The timer restarts when a breach follows no data or an error, or the reverse.",
      { default: defaults.for },
    ),
    keepFiringFor: Duration("How long a series keeps firing after it stops breaching.", {
      default: defaults.keepFiringFor,
    }),
    // Grafana's choices and defaults: no data and a failed query are states of their own, shown and
    // notified like Firing after `for` (as Grafana 13 does), unless mapped to Ok, to Firing (a breach)
    // or to the last state. A rule that has never had data waits longer: see alert-state.ts.
    noDataState: Type.Union(
      [Type.Literal("NoData"), Type.Literal("Ok"), Type.Literal("Firing"), Type.Literal("KeepLast")],
      {
        description:
          "The state of each series when the source returns nothing (e.g. the pipeline stopped): NoData (a state of its own, notified like Firing once it has lasted `for`; until the rule's first data, at least 5 minutes), Ok, Firing (a breach, so after `for`) or KeepLast (the series keep their state).",
        default: defaults.noDataState,
      },
    ),
    errorState: Type.Union(
      [Type.Literal("Error"), Type.Literal("Ok"), Type.Literal("Firing"), Type.Literal("KeepLast")],
      {
        description:
          "The state of each series when the query fails, times out or its source is missing or not Ready: Error (a state of its own, notified like Firing once it has lasted `for`; until the rule's first data, at least 5 minutes, so a source applied with the rule can become Ready), Ok, Firing (a breach, so after `for`) or KeepLast (the series keep their state).",
        default: defaults.errorState,
      },
    ),
    severity: Type.Union([Type.Literal("critical"), Type.Literal("warning"), Type.Literal("info")], {
      description: "critical, warning or info.",
      default: defaults.severity,
    }),
    // Alertmanager refuses an alert whose label or annotation names are not [a-zA-Z_][a-zA-Z0-9_]*:
    // the same characters as an identifier.
    labels: Type.Optional(
      Type.Record(Type.String({ pattern: identifierPattern }), Type.String({ maxLength: 1024 }), {
        description:
          "Labels added to notifications; names as Alertmanager accepts them: [a-zA-Z_][a-zA-Z0-9_]*.",
        maxProperties: 32,
      }),
    ),
    annotations: Type.Optional(
      Type.Record(Type.String({ pattern: identifierPattern }), Type.String({ maxLength: 4096 }), {
        description:
          "Annotations (summary, runbook_url, …) added to notifications; names as for labels: [a-zA-Z_][a-zA-Z0-9_]*.",
        maxProperties: 32,
      }),
    ),
    notify: Type.Array(Channel, {
      description: "Where notifications go.",
      minItems: 1,
      maxItems: 8,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    }),
  },
  { description: "An alert on a rollup metric or a live window." },
);
export type AlertRuleSpec = Static<typeof AlertRuleSpec>;

const AlertState = Type.Union(
  [
    Type.Literal("Ok"),
    Type.Literal("Pending"),
    Type.Literal("Firing"),
    Type.Literal("NoData"),
    Type.Literal("Error"),
  ],
  { description: "Ok, Pending, Firing, NoData (the source returned nothing) or Error (the query failed)." },
);
export type AlertState = Static<typeof AlertState>;

const Instant = (description: string) => Type.String({ description, format: "date-time" });

export const AlertSeriesStatus = Type.Object(
  {
    labels: Type.Record(Type.String(), Type.String(), {
      description: "The series' group-by values.",
    }),
    state: AlertState,
    since: Instant("When the series entered its state."),
    value: Type.Optional(
      Type.Number({ description: "Value compared with the threshold at the last evaluation that had one." }),
    ),
    // The instants below let the gateway rebuild its state from the status when Redis lost it: a
    // Pending series keeps its `for` timer and a Firing one its notification identity.
    activeAt: Type.Optional(
      Instant(
        "Pending: when its `for` timer started. Firing (and NoData or Error interrupting a Firing): when the breach began.",
      ),
    ),
    pendingOn: Type.Optional(
      Type.Union([Type.Literal("Firing"), Type.Literal("NoData"), Type.Literal("Error")], {
        description:
          "Pending: what the series becomes once `for` has passed: Firing (it breaches), NoData or Error.",
      }),
    ),
    firedAt: Type.Optional(
      Instant(
        "Firing, NoData or Error, or resolved (Ok or Pending): when its notified episode began (identifies it).",
      ),
    ),
    keepFiringSince: Type.Optional(Instant("Firing under keepFiringFor: when the series stopped breaching.")),
    resolvedAt: Type.Optional(
      Instant(
        "Ok or Pending after a notified episode: when it was resolved (re-sent as resolved for 15 minutes).",
      ),
    ),
  },
  { description: "One series." },
);
export type AlertSeriesStatus = Static<typeof AlertSeriesStatus>;

export const AlertChannelStatus = Type.Object(
  {
    channel: Type.String({ description: "The channel's name in spec.notify." }),
    lastAttempt: Instant("When the last delivery attempt ended."),
    ok: Type.Boolean({ description: "Whether the last delivery succeeded." }),
    message: Type.String({ description: "What happened, e.g. the HTTP status.", maxLength: 1024 }),
    consecutiveFailures: Type.Integer({
      minimum: 0,
      description: "Failed deliveries since the last one that succeeded.",
    }),
  },
  { description: "The last notification sent on one channel and its outcome." },
);
export type AlertChannelStatus = Static<typeof AlertChannelStatus>;

export const AlertRuleStatus = Type.Object(
  {
    observedGeneration: ObservedGeneration(),
    conditions: Conditions(),
    state: Type.Optional(AlertState),
    since: Type.Optional(Instant("When the rule entered its state.")),
    lastValue: Type.Optional(
      Type.Number({ description: "Value of the worst series at the last evaluation." }),
    ),
    lastEvaluation: Type.Optional(Instant("When the rule was last evaluated.")),
    series: Type.Optional(
      Type.Array(AlertSeriesStatus, {
        description: "State per series (the worst first; at most 100).",
        maxItems: 100,
      }),
    ),
    notifications: Type.Optional(
      Type.Array(AlertChannelStatus, {
        description: "The last notification per channel, by channel name (written by the gateway).",
        maxItems: 8,
      }),
    ),
  },
  { description: "Observed state of the alert rule." },
);
export type AlertRuleStatus = Static<typeof AlertRuleStatus>;
