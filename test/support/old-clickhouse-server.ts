/**
 * Debian's clickhouse-server 18.16 (installed by `make setup`), started on a spare port for the
 * one thing it is good for here: proving that an unsupported server version is refused clearly.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./free-port.js";

export interface OldClickhouse {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  stop(): Promise<void>;
}

export async function startOldClickhouse(): Promise<OldClickhouse> {
  const dir = mkdtempSync(join(tmpdir(), "tally-clickhouse-18-"));
  const [httpPort, tcpPort] = [await freePort(), await freePort()];
  const username = "tally";
  const password = "old-server";
  writeFileSync(
    join(dir, "config.xml"),
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/data/tmp/</tmp_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
</yandex>
`,
  );
  writeFileSync(
    join(dir, "users.xml"),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><${username}><password>${password}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></${username}></users>
  <quotas><default></default></quotas>
</yandex>
`,
  );
  const child = spawn("clickhouse-server", [`--config-file=${join(dir, "config.xml")}`], { stdio: "ignore" });
  const url = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(
        `clickhouse-server 18.16 did not start on ${url} (is the clickhouse-server package installed? run make setup)`,
      );
    }
    await sleep(200);
  }
  return {
    url,
    username,
    password,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
