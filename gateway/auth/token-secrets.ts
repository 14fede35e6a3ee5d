/**
 * The token Secrets, watched one by one (a field selector on the name, so RBAC can grant exactly the
 * named Secrets): the table is rebuilt on every change, so a rotated or revoked token takes effect
 * without a restart.
 */
import { Informer } from "../../lib/kube/informer.js";
import { type KubeClient, type KubeObject, resourceTypes } from "../../lib/kube/kube-client.js";
import type { Logger } from "../logger.js";
import type { SecretRef } from "../settings.js";
import { buildTokenTable, type TokenTable } from "./token-table.js";

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

export class TokenSecrets {
  private current: TokenTable = new Map();
  private problemsSaid = "";
  private readonly informers: { ref: SecretRef; informer: Informer<Secret> }[];

  constructor(
    client: KubeClient,
    refs: readonly SecretRef[],
    private readonly logger: Logger,
  ) {
    this.informers = refs.map((ref) => ({
      ref,
      informer: new Informer<Secret>(client, resourceTypes.secret, () => this.rebuild(), {
        namespace: ref.namespace,
        fieldSelector: `metadata.name=${ref.name}`,
        resyncMs: 10 * 60_000,
        onError: (error, phase) =>
          logger.warn(
            { namespace: ref.namespace, name: ref.name, phase, err: errorText(error) },
            "token Secret watch failed; retrying",
          ),
      }),
    }));
  }

  table(): TokenTable {
    return this.current;
  }

  synced(): boolean {
    return this.informers.every(({ informer }) => informer.hasSynced());
  }

  start(): void {
    for (const { informer } of this.informers) informer.start();
    // A Secret that does not exist produces no event: rebuild once all are listed, to say so.
    void Promise.all(
      this.informers.map(({ informer }) => informer.waitForSync(Number.MAX_SAFE_INTEGER)),
    ).then(
      () => this.rebuild(),
      () => undefined,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map(({ informer }) => informer.stop()));
  }

  private rebuild(): void {
    const { table, problems } = buildTokenTable(
      this.informers.map(({ ref, informer }) => {
        const secret = informer.get(`${ref.namespace}/${ref.name}`);
        return { ref, data: secret === undefined ? undefined : (secret.data ?? {}) };
      }),
    );
    this.current = table;
    // Once every Secret has been listed (before, "does not exist" may mean "not yet"), and once per change.
    const said = problems.join("\n");
    if (this.synced() && said !== this.problemsSaid) {
      this.problemsSaid = said;
      for (const problem of problems) this.logger.warn({ problem }, "token Secret not usable");
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
