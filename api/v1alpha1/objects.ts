/**
 * The stored objects of the four kinds, declared once for every program that reads them. `spec` stays
 * `unknown`: what the apiserver holds is trusted only after `validation.ts` has checked it (an object
 * may predate the current schema). `status` is typed from the schema, which the operator alone writes.
 */
import type { ObjectMeta } from "../../lib/kube/kube-client.js";
import type { AlertRuleStatus } from "./alert-rule.js";
import type { DashboardStatus } from "./dashboard.js";
import type { PipelineStatus } from "./pipeline.js";
import type { RollupStatus } from "./rollup.js";

export type { ObjectMeta };

interface StoredObject<Status> {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: Status;
}

export type PipelineObject = StoredObject<PipelineStatus>;
export type RollupObject = StoredObject<RollupStatus>;
export type AlertRuleObject = StoredObject<AlertRuleStatus>;
export type DashboardObject = StoredObject<DashboardStatus>;
