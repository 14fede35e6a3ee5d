import { type Static, Type } from "@sinclair/typebox";
import { AggregationList } from "./aggregation.js";
import { pipelineDefaults as defaults } from "./defaults.js";
import {
  CelExpression,
  Conditions,
  ConfigMapKeyRef,
  celRules,
  Duration,
  FieldPath,
  FreeForm,
  Identifier,
  ObservedGeneration,
  PositiveDuration,
  SecretKeyRef,
  SecretRef,
} from "./schema-kit.js";

/** ClickHouse column types a pipeline field may have; a closed list, so no type string reaches DDL unchecked. */
export const columnTypes = [
  "String",
  "LowCardinality(String)",
  "UUID",
  "Bool",
  "Int32",
  "Int64",
  "UInt32",
  "UInt64",
  "Float32",
  "Float64",
  "Date",
  "DateTime",
  "DateTime64(3)",
] as const;
export type ColumnType = (typeof columnTypes)[number];

const KafkaSource = Type.Object(
  {
    brokers: Type.Optional(
      Type.Array(
        Type.String({
          description: "host:port of a bootstrap broker.",
          pattern: "^[^\\s:]+:[0-9]{1,5}$",
          maxLength: 261,
        }),
        {
          description: "Bootstrap brokers. Exactly one of brokers and brokersSecretRef is set.",
          minItems: 1,
          maxItems: 16,
        },
      ),
    ),
    brokersSecretRef: Type.Optional(
      SecretKeyRef("A Secret key holding a comma-separated broker list, instead of brokers."),
    ),
    topics: Type.Array(
      Type.String({
        description: "A Kafka topic name.",
        pattern: "^[A-Za-z0-9._-]+$",
        minLength: 1,
        maxLength: 249,
      }),
      { description: "Topics read by the pipeline.", minItems: 1, maxItems: 32 },
    ),
    consumerGroup: Type.Optional(
      Type.String({
        description: "Consumer group id; defaults to tally.<namespace>.<name>.",
        pattern: "^[A-Za-z0-9._-]+$",
        minLength: 1,
        maxLength: 249,
      }),
    ),
    startOffset: Type.Union([Type.Literal("earliest"), Type.Literal("latest")], {
      description:
        "Where a new consumer group starts: earliest (the oldest retained message) or latest (only messages produced from now on). A group with committed offsets always resumes from them.",
      default: defaults["source.kafka.startOffset"],
    }),
    tls: Type.Optional(
      Type.Object(
        {
          enabled: Type.Boolean({
            description: "Connect with TLS.",
            default: defaults["source.kafka.tls.enabled"],
          }),
          caSecretRef: Type.Optional(SecretKeyRef("CA certificate (PEM) to trust, if not a public CA.")),
        },
        { description: "TLS to the brokers." },
      ),
    ),
    sasl: Type.Optional(
      Type.Object(
        {
          mechanism: Type.Union(
            [Type.Literal("plain"), Type.Literal("scram-sha-256"), Type.Literal("scram-sha-512")],
            {
              description: "SASL mechanism: plain, scram-sha-256 or scram-sha-512.",
            },
          ),
          credentialsSecretRef: SecretRef("Secret with keys `username` and `password`."),
        },
        { description: "SASL authentication; credentials only from a Secret." },
      ),
    ),
  },
  {
    description: "The Kafka topics the pipeline consumes.",
    ...celRules({
      rule: "has(self.brokers) != has(self.brokersSecretRef)",
      message: "set exactly one of brokers and brokersSecretRef",
    }),
  },
);

const Format = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal("json", { description: "UTF-8 JSON objects." }),
        jsonSchema: Type.Optional(
          FreeForm("JSON Schema each event must satisfy; failures go to the dead-letter topic."),
        ),
      },
      { description: "JSON events." },
    ),
    Type.Object(
      {
        type: Type.Literal("avro", { description: "Avro binary." }),
        schemaConfigMapRef: ConfigMapKeyRef("The writer schema (.avsc JSON)."),
        readerSchemaConfigMapRef: Type.Optional(
          ConfigMapKeyRef("A reader schema for schema evolution; defaults to the writer schema."),
        ),
      },
      { description: "Avro events." },
    ),
    Type.Object(
      {
        type: Type.Literal("protobuf", { description: "Protocol Buffers binary." }),
        schemaConfigMapRef: ConfigMapKeyRef("The .proto file."),
        messageType: Type.String({
          description: "Fully qualified message type, e.g. shop.v1.Click.",
          pattern: "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$",
          maxLength: 253,
        }),
      },
      { description: "Protobuf events." },
    ),
  ],
  { description: "How events are decoded; `type` selects which fields apply." },
);

const Field = Type.Object(
  {
    name: Identifier("Column name in ClickHouse and the name used by windows, rollups and filters."),
    type: Type.Union(
      columnTypes.map((t) => Type.Literal(t)),
      { description: "ClickHouse column type." },
    ),
    path: Type.Optional(
      FieldPath("Where the value is in the decoded event (dotted path); defaults to name."),
    ),
    nullable: Type.Boolean({
      description:
        "Whether the field may be missing or null. An event missing a field that is not nullable is invalid: it is counted and sent to the dead-letter topic, if one is set.",
      default: defaults["fields[*].nullable"],
    }),
  },
  { description: "One field of the event, stored as a column of the raw table." },
);

const EventTime = Type.Object(
  {
    field: Identifier("The field holding the event time; one of spec.fields."),
    maxOutOfOrderness: Duration(
      "How far an event's time may trail the newest event time seen on its Kafka partition and still be on time. Each partition's watermark is its newest event time minus this; a window's result is written once the watermark passes the window's end. Larger values tolerate more disorder but delay every result by as much.",
      { default: defaults["eventTime.maxOutOfOrderness"] },
    ),
    allowedLateness: Duration(
      "How long after a window closes a late event still updates it (the corrected result is written again). An event later than that is still stored in the raw table (so rollups count it) but misses the window: it is counted as late-dropped and reported on the dead-letter topic, if one is set.",
      { default: defaults["eventTime.allowedLateness"] },
    ),
    idleTimeout: Duration(
      "A partition that receives no record for this long stops holding the pipeline's watermark back, and " +
        "its own watermark moves to the wall clock minus maxOutOfOrderness, so its open windows close and are " +
        "written (exactly once); events for those windows that arrive afterwards are late per allowedLateness. " +
        "This assumes event time follows the wall clock: when replaying old data, set it above the producer's " +
        "longest pause, or the rest of the replay is late.",
      {
        default: defaults["eventTime.idleTimeout"],
      },
    ),
  },
  { description: "Event time and watermarks." },
);

const Dedup = Type.Object(
  {
    field: Identifier("The event id field; one of spec.fields. Events whose id is null are never dropped."),
    horizon: Duration(
      "How far back an id is remembered, measured in event time per Kafka partition, not in wall-clock time: an event is dropped when an event with the same id was stored earlier on the same partition with an event time at most this far behind the partition's newest event time. Covers producer retries and redelivery. When replaying history (event times spread over days or months), duplicates whose event times are further apart than the horizon are both kept: set the horizon to cover them. Memory grows with the number of distinct ids within the horizon.",
      { default: defaults["dedup.horizon"] },
    ),
  },
  {
    description:
      "Drop repeated events by id. Only duplicates on the same Kafka partition are found, so producers must key events such that a retried event lands on the same partition (any stable key does).",
  },
);

const Transform = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal("filter", { description: "Keep events for which the expression is true." }),
        name: Identifier("Name of the step, used in metrics and errors."),
        expression: CelExpression(
          "CEL expression over `event` returning bool. `event` holds the declared fields: strings and UUIDs are strings, Bool is bool, numbers, dates and times are doubles (write `event.n + 1.0`, not `+ 1`). Checked against spec.fields when applied: a field the pipeline does not have, or an expression that is not bool, is refused.",
        ),
      },
      { description: "A filter step." },
    ),
    Type.Object(
      {
        type: Type.Literal("set", { description: "Set a field to the expression's value." }),
        name: Identifier("Name of the step, used in metrics and errors."),
        field: Identifier("The field written; one of spec.fields."),
        expression: CelExpression(
          "CEL expression over `event` (typed as for a filter) whose value is stored in `field`; a value of a type the field cannot hold is refused when applied.",
        ),
      },
      { description: "A computed field." },
    ),
  ],
  { description: "A transform step; `type` selects which fields apply." },
);

const Enrichment = Type.Union(
  [
    Type.Object(
      {
        source: Type.Literal("redisHash", { description: "Look up a Redis hash." }),
        name: Identifier("Name of the lookup."),
        keyField: Identifier("The event field whose value is the lookup key."),
        keyPrefix: Type.String({
          description: "Prefix of the Redis key.",
          pattern: "^[A-Za-z0-9:_.-]*$",
          maxLength: 128,
        }),
        fields: Type.Array(Identifier("A hash field copied into the event (must be one of spec.fields)."), {
          description: "Hash fields copied into the event.",
          minItems: 1,
          maxItems: 32,
        }),
        ttl: Duration("How long a looked-up value is cached.", { default: defaults["enrich[*].ttl"] }),
      },
      { description: "Reference data from Redis hashes." },
    ),
    Type.Object(
      {
        source: Type.Literal("clickhouseTable", { description: "Look up a ClickHouse table." }),
        name: Identifier("Name of the lookup."),
        keyField: Identifier("The event field whose value is the lookup key."),
        database: Type.Optional(
          Identifier("Database of the table; the connection's default database if unset."),
        ),
        table: Identifier("Reference table."),
        keyColumn: Identifier("Column matched against the key."),
        fields: Type.Array(Identifier("A column copied into the event (must be one of spec.fields)."), {
          description: "Columns copied into the event.",
          minItems: 1,
          maxItems: 32,
        }),
        ttl: Duration("How long a looked-up value is cached.", { default: defaults["enrich[*].ttl"] }),
      },
      { description: "Reference data from a ClickHouse table." },
    ),
  ],
  { description: "An enrichment lookup; `source` selects which fields apply." },
);

const windowCommon = {
  name: Identifier("Window name; its results are stored under it."),
  groupBy: Type.Array(Identifier("A field of spec.fields."), {
    description: "Fields whose values key the window's results; empty: one result per window.",
    maxItems: 8,
    default: defaults["windows[*].groupBy"],
  }),
  aggregations: AggregationList("What each window computes."),
};

const Window = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal("tumbling", { description: "Fixed, non-overlapping windows." }),
        ...windowCommon,
        size: PositiveDuration("Window length."),
      },
      { description: "Tumbling windows." },
    ),
    Type.Object(
      {
        type: Type.Literal("sliding", { description: "Overlapping windows of `size`, one every `slide`." }),
        ...windowCommon,
        size: PositiveDuration("Window length."),
        slide: Duration("Distance between window starts; must divide size."),
      },
      {
        description: "Sliding windows.",
        ...celRules({
          rule: "!has(self.slide) || (duration(self.slide) > duration('0s') && duration(self.slide) <= duration(self.size) && duration(self.size).getMilliseconds() % duration(self.slide).getMilliseconds() == 0)",
          message: "slide must be positive, at most size, and divide size evenly",
          fieldPath: ".slide",
        }),
      },
    ),
    Type.Object(
      {
        type: Type.Literal("session", {
          description: "Per-key sessions that close after a gap of inactivity.",
        }),
        ...windowCommon,
        gap: PositiveDuration("Inactivity (in event time) that ends a session."),
      },
      { description: "Session windows." },
    ),
  ],
  { description: "A live window; `type` selects which fields apply." },
);

const ClickhouseSink = Type.Object(
  {
    connectionSecretRef: SecretRef("Secret with keys `url`, `username` and `password`."),
    database: Identifier("Database of the raw table.", { default: defaults["sink.clickhouse.database"] }),
    table: Identifier("Raw events table; created by the operator."),
    retentionDays: Type.Optional(
      Type.Integer({
        description: "Rows older than this many days are dropped (table TTL).",
        minimum: 1,
        maximum: 36500,
      }),
    ),
    batch: Type.Object(
      {
        maxRows: Type.Integer({
          description: "Insert a batch into ClickHouse once it holds this many events.",
          minimum: 1,
          maximum: 1_000_000,
          default: defaults["sink.clickhouse.batch.maxRows"],
        }),
        maxDelay: Duration(
          "Insert at least this often, so with little traffic rows still reach ClickHouse within about this delay.",
          { default: defaults["sink.clickhouse.batch.maxDelay"] },
        ),
      },
      { description: "Insert batching.", default: {} },
    ),
  },
  { description: "Where raw events and window results land." },
);

const RedisSink = Type.Object(
  {
    connectionSecretRef: SecretRef("Secret with key `url` (redis://…)."),
    ttl: Duration("How long live window results are kept.", { default: defaults["sink.redis.ttl"] }),
  },
  { description: "Live window results for dashboards." },
);

const Scaling = Type.Object(
  {
    mode: Type.Union([Type.Literal("auto"), Type.Literal("recommend"), Type.Literal("off")], {
      description:
        "auto: act on decisions; recommend: decide and report only; off: replicas only from spec.replicas.",
      default: defaults["scaling.mode"],
    }),
    minReplicas: Type.Integer({
      description: "Lower bound; 0 allows scale to zero.",
      minimum: 0,
      maximum: 1024,
      default: defaults["scaling.minReplicas"],
    }),
    maxReplicas: Type.Integer({
      description: "Upper bound (also capped at the partition count).",
      minimum: 1,
      maximum: 1024,
      default: defaults["scaling.maxReplicas"],
    }),
    targetCatchUp: Duration("Time within which a backlog should be drained.", {
      default: defaults["scaling.targetCatchUp"],
    }),
    scaleUpStabilization: Duration("Scale up only to the lowest recommendation over this window.", {
      default: defaults["scaling.scaleUpStabilization"],
    }),
    scaleDownStabilization: Duration("Scale down only to the highest recommendation over this window.", {
      default: defaults["scaling.scaleDownStabilization"],
    }),
    cooldown: Duration("Minimum time between two scale actions.", { default: defaults["scaling.cooldown"] }),
    activationLag: Type.Optional(
      Type.Integer({
        description: "With minReplicas 0: lag (messages) that wakes the pipeline.",
        minimum: 1,
      }),
    ),
  },
  {
    description: "Lag-based autoscaling.",
    default: {},
    ...celRules(
      {
        rule: "self.minReplicas <= self.maxReplicas",
        message: "minReplicas must not exceed maxReplicas",
        fieldPath: ".minReplicas",
      },
      {
        rule: "self.minReplicas > 0 || has(self.activationLag)",
        message: "scale to zero (minReplicas 0) needs activationLag",
        fieldPath: ".activationLag",
      },
    ),
  },
);

const ResourceList = Type.Object(
  {
    cpu: Type.Optional(
      Type.String({
        description: "CPU quantity, e.g. 500m.",
        pattern: "^[0-9]+(\\.[0-9]+)?m?$",
        maxLength: 32,
      }),
    ),
    memory: Type.Optional(
      Type.String({
        description: "Memory quantity, e.g. 512Mi.",
        pattern: "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$",
        maxLength: 32,
      }),
    ),
  },
  { description: "CPU and memory quantities." },
);

const PodTemplate = Type.Object(
  {
    resources: Type.Optional(
      Type.Object(
        { requests: Type.Optional(ResourceList), limits: Type.Optional(ResourceList) },
        { description: "Runtime container resources." },
      ),
    ),
    nodeSelector: Type.Optional(
      Type.Record(Type.String({ maxLength: 317 }), Type.String({ maxLength: 63 }), {
        description: "Node selector for runtime pods.",
      }),
    ),
    podAnnotations: Type.Optional(
      Type.Record(Type.String({ maxLength: 317 }), Type.String({ maxLength: 4096 }), {
        description: "Extra pod annotations.",
      }),
    ),
    podLabels: Type.Optional(
      Type.Record(Type.String({ maxLength: 317 }), Type.String({ maxLength: 63 }), {
        description: "Extra pod labels.",
      }),
    ),
  },
  { description: "Overrides for the runtime pods." },
);

export const PipelineSpec = Type.Object(
  {
    source: Type.Object({ kafka: KafkaSource }, { description: "Where events come from." }),
    format: Format,
    fields: Type.Array(Field, {
      description: "The event's fields: the raw table's columns and the names everything else refers to.",
      minItems: 1,
      maxItems: 256,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    }),
    eventTime: EventTime,
    dedup: Type.Optional(Dedup),
    transforms: Type.Optional(
      Type.Array(Transform, { description: "Filters and computed fields, in order.", maxItems: 32 }),
    ),
    enrich: Type.Optional(
      Type.Array(Enrichment, { description: "Reference-data lookups, in order.", maxItems: 8 }),
    ),
    windows: Type.Optional(
      Type.Array(Window, {
        description: "Live event-time windows.",
        maxItems: 16,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
      }),
    ),
    sink: Type.Object(
      { clickhouse: ClickhouseSink, redis: Type.Optional(RedisSink) },
      { description: "Where results go." },
    ),
    deletionPolicy: Type.Union([Type.Literal("Retain"), Type.Literal("Delete")], {
      description:
        "What deleting the Pipeline does to what it wrote. Retain keeps the raw table and the window table with their data, and leaves the live windows in Redis to expire on their TTL; Delete drops both tables and deletes the live windows. Rollups reading the raw table have their own deletionPolicy.",
      default: defaults.deletionPolicy,
    }),
    deadLetter: Type.Optional(
      Type.Object(
        {
          topic: Type.String({
            description: "Kafka topic for undecodable or invalid events.",
            pattern: "^[A-Za-z0-9._-]+$",
            maxLength: 249,
          }),
        },
        { description: "Where events that cannot be processed go, with headers saying why." },
      ),
    ),
    scaling: Scaling,
    replicas: Type.Optional(
      Type.Integer({
        description: "Replica count (the scale subresource); set by the autoscaler in auto mode.",
        minimum: 0,
      }),
    ),
    template: Type.Optional(PodTemplate),
  },
  {
    description: "A streaming pipeline: Kafka topics in, event-time windows and ClickHouse tables out.",
    ...celRules(
      {
        rule: "self.fields.exists(f, f.name == self.eventTime.field)",
        message: "eventTime.field must name one of spec.fields",
        fieldPath: ".eventTime.field",
      },
      {
        rule: "!has(self.dedup) || self.fields.exists(f, f.name == self.dedup.field)",
        message: "dedup.field must name one of spec.fields",
        fieldPath: ".dedup.field",
      },
      {
        rule: "!has(self.windows) || self.windows.all(w, w.groupBy.all(g, self.fields.exists(f, f.name == g)))",
        message: "every windows[].groupBy entry must name one of spec.fields",
        fieldPath: ".windows",
      },
      {
        rule: "!has(self.windows) || self.windows.all(w, w.aggregations.all(a, !has(a.field) || self.fields.exists(f, f.name == a.field)))",
        message: "every windows[].aggregations[].field must name one of spec.fields",
        fieldPath: ".windows",
      },
    ),
  },
);
export type PipelineSpec = Static<typeof PipelineSpec>;

export const PipelineStatus = Type.Object(
  {
    observedGeneration: ObservedGeneration(),
    conditions: Conditions(),
    replicas: Type.Optional(Type.Integer({ description: "Runtime pods that exist.", minimum: 0 })),
    readyReplicas: Type.Optional(Type.Integer({ description: "Runtime pods that are ready.", minimum: 0 })),
    desiredReplicas: Type.Optional(Type.Integer({ description: "What the autoscaler wants.", minimum: 0 })),
    selector: Type.Optional(
      Type.String({ description: "Label selector of the runtime pods (scale subresource)." }),
    ),
    lag: Type.Optional(
      Type.Integer({ description: "Consumer lag in messages, summed over partitions.", minimum: 0 }),
    ),
    lagSeconds: Type.Optional(
      Type.Number({ description: "Lag divided by the processing rate.", minimum: 0 }),
    ),
    processingRate: Type.Optional(Type.Number({ description: "Events per second processed.", minimum: 0 })),
    lastScaleTime: Type.Optional(
      Type.String({ description: "When replicas last changed.", format: "date-time" }),
    ),
    scaleReason: Type.Optional(Type.String({ description: "Why the last scale decision was made." })),
    configHash: Type.Optional(Type.String({ description: "Hash of the rendered runtime configuration." })),
    autoscaler: Type.Optional(
      FreeForm(
        "The autoscaler's memory (recent recommendations, last scale time, capacity estimate), kept here so a restarted operator continues where it stopped.",
      ),
    ),
    clickhouse: Type.Optional(
      Type.Object(
        {
          database: Type.String({ description: "Database of the raw table." }),
          table: Type.String({ description: "Raw events table." }),
        },
        { description: "ClickHouse objects owned by the pipeline." },
      ),
    ),
  },
  { description: "Observed state of the pipeline." },
);
export type PipelineStatus = Static<typeof PipelineStatus>;
