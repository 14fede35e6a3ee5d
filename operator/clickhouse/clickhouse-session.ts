/**
 * The operator's ClickHouse access: a client from a connection Secret (`url`, `username`,
 * `password`), the version check, and DDL execution. Values never enter SQL text here: lookups
 * bind `{name:Type}` parameters, and DDL arrives rendered by the pure renderers.
 */
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { checkServerVersion, type VersionCheck } from "./server-version.js";

export interface ClickhouseCredentials {
  readonly url: string;
  readonly username: string;
  readonly password: string;
}

export class ClickhouseSession {
  private constructor(
    private readonly client: ClickHouseClient,
    readonly url: string,
  ) {}

  static open(credentials: ClickhouseCredentials): ClickhouseSession {
    const client = createClient({
      url: credentials.url,
      username: credentials.username,
      password: credentials.password,
      request_timeout: 60_000,
      clickhouse_settings: { wait_end_of_query: 1 },
      // Failures surface as thrown errors the controller reports in conditions; the client's own
      // logger would print each one again with its request dump.
      log: { level: ClickHouseLogLevel.OFF },
    });
    return new ClickhouseSession(client, credentials.url);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  async checkVersion(): Promise<VersionCheck> {
    const result = await this.client.query({ query: "SELECT version() AS version", format: "JSONEachRow" });
    const [row] = await result.json<{ version: string }>();
    return checkServerVersion(row?.version ?? "");
  }

  async execute(statement: string): Promise<void> {
    await this.client.command({ query: statement });
  }

  async columns(database: string, table: string): Promise<{ name: string; type: string }[]> {
    const result = await this.client.query({
      query:
        "SELECT name, type FROM system.columns WHERE database = {database:String} AND table = {table:String} ORDER BY position",
      query_params: { database, table },
      format: "JSONEachRow",
    });
    return result.json<{ name: string; type: string }>();
  }

  async tableExists(database: string, table: string): Promise<boolean> {
    const result = await this.client.query({
      query:
        "SELECT count() AS n FROM system.tables WHERE database = {database:String} AND name = {table:String}",
      query_params: { database, table },
      format: "JSONEachRow",
    });
    const [row] = await result.json<{ n: string | number }>();
    return Number(row?.n ?? 0) > 0;
  }

  async activePartitions(database: string, table: string): Promise<string[]> {
    const result = await this.client.query({
      query:
        "SELECT DISTINCT partition_id FROM system.parts WHERE database = {database:String} AND table = {table:String} AND active ORDER BY partition_id",
      query_params: { database, table },
      format: "JSONEachRow",
    });
    return (await result.json<{ partition_id: string }>()).map((r) => r.partition_id);
  }
}
