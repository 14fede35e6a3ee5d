import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { kubeApiserverUrl, kubeconfigPath, stackConfig } from "../config.js";
import { runCommand } from "../run-command.js";

/**
 * Certificates, keys and kubeconfigs of the local control plane, made with the system's `openssl`
 * under `.tally-stack/k8s/`. Idempotent: a certificate is reused while its key, its subject and
 * names and the CA that signed it are unchanged; only the kubeconfigs are rewritten (the API port
 * may have moved).
 *
 * - one CA signs everything and is the apiserver's `--client-ca-file` (client certificates are
 *   the identities: CN = user, O = groups);
 * - the apiserver serves a certificate for 127.0.0.1, localhost and the `kubernetes.default`
 *   names and Service IP;
 * - an RSA key pair signs and verifies service-account tokens.
 */
export const k8sDir = join(stackConfig.stateDir, "k8s");
const pkiDir = join(k8sDir, "pki");

/** First address of `--service-cluster-ip-range`: the `kubernetes.default` Service's ClusterIP. */
export const serviceClusterIpRange = "10.96.0.0/16";
const kubernetesServiceIp = "10.96.0.1";

export const pkiFiles = {
  caCert: join(pkiDir, "ca.crt"),
  caKey: join(pkiDir, "ca.key"),
  apiserverCert: join(pkiDir, "apiserver.crt"),
  apiserverKey: join(pkiDir, "apiserver.key"),
  serviceAccountKey: join(pkiDir, "sa.key"),
  serviceAccountPub: join(pkiDir, "sa.pub"),
  // Aggregation layer: the apiserver proxies to extension apiservers with this client certificate,
  // and they (and the controller-manager and scheduler, for their own ports) trust this CA.
  frontProxyCaCert: join(pkiDir, "front-proxy-ca.crt"),
  frontProxyCaKey: join(pkiDir, "front-proxy-ca.key"),
  frontProxyClientCert: join(pkiDir, "front-proxy-client.crt"),
  frontProxyClientKey: join(pkiDir, "front-proxy-client.key"),
} as const;

export const frontProxyClientName = "front-proxy-client";

interface Authority {
  readonly file: string;
  readonly commonName: string;
  readonly cert: string;
  readonly key: string;
}

const clusterCa: Authority = {
  file: "ca",
  commonName: "tally-local-ca",
  cert: pkiFiles.caCert,
  key: pkiFiles.caKey,
};
const frontProxyCa: Authority = {
  file: "front-proxy-ca",
  commonName: "tally-local-front-proxy-ca",
  cert: pkiFiles.frontProxyCaCert,
  key: pkiFiles.frontProxyCaKey,
};

interface ClientIdentity {
  /** File stem under pki/ and the kubeconfig's user name. */
  readonly file: string;
  readonly user: string;
  readonly groups: readonly string[];
  readonly kubeconfig: string;
}

/**
 * Who talks to the apiserver. The controller-manager and scheduler use the names the bootstrap
 * RBAC policy grants; kwok simulates every kubelet (it patches any node's and pod's status), so it
 * is an admin like a kwokctl cluster's; the pod-runner gets its own read-only ClusterRole
 * (services/pod-runner.ts).
 */
export const clientIdentities = {
  admin: { file: "admin", user: "tally-admin", groups: ["system:masters"], kubeconfig: kubeconfigPath },
  controllerManager: {
    file: "controller-manager",
    user: "system:kube-controller-manager",
    groups: [],
    kubeconfig: join(k8sDir, "controller-manager.kubeconfig"),
  },
  scheduler: {
    file: "scheduler",
    user: "system:kube-scheduler",
    groups: [],
    kubeconfig: join(k8sDir, "scheduler.kubeconfig"),
  },
  kwok: {
    file: "kwok",
    user: "tally-kwok",
    groups: ["system:masters"],
    kubeconfig: join(k8sDir, "kwok.kubeconfig"),
  },
  podRunner: {
    file: "pod-runner",
    user: "tally-pod-runner",
    groups: [],
    kubeconfig: join(k8sDir, "pod-runner.kubeconfig"),
  },
} as const satisfies Record<string, ClientIdentity>;

interface CertificateSpec {
  readonly file: string;
  readonly commonName: string;
  readonly organizations: readonly string[];
  readonly usage: "server" | "client";
  readonly dnsNames?: readonly string[];
  readonly ips?: readonly string[];
  /** The CA that signs it (default: the cluster CA). */
  readonly issuer?: Authority;
}

const apiserverSpec: CertificateSpec = {
  file: "apiserver",
  commonName: "kube-apiserver",
  organizations: [],
  usage: "server",
  dnsNames: [
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
  ],
  ips: [stackConfig.host, kubernetesServiceIp],
};

const frontProxyClientSpec: CertificateSpec = {
  file: "front-proxy-client",
  commonName: frontProxyClientName,
  organizations: [],
  usage: "client",
  issuer: frontProxyCa,
};

const validityDays = "3650";

async function openssl(args: readonly string[]): Promise<void> {
  await runCommand("openssl", args, { timeoutMs: 60_000 });
}

async function writeAtomically(path: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, path);
}

/** Writes only when the content changed, so mtimes stay meaningful. */
async function writeIfChanged(path: string, content: string, mode = 0o600): Promise<void> {
  const current = await readFile(path, "utf8").catch(() => undefined);
  if (current !== content) await writeAtomically(path, content, mode);
}

async function newRsaKey(path: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", tmp]);
  await rename(tmp, path);
}

function requestConfig(spec: CertificateSpec | Authority): string {
  const isCa = !("usage" in spec);
  const dn = isCa
    ? [`CN = ${spec.commonName}`, "O = tally.dev"]
    : [`CN = ${spec.commonName}`, ...spec.organizations.map((o, i) => `${i}.O = ${o}`)];
  const ext = isCa
    ? [
        "basicConstraints = critical, CA:TRUE",
        "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
        "subjectKeyIdentifier = hash",
      ]
    : [
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature, keyEncipherment",
        `extendedKeyUsage = ${spec.usage === "server" ? "serverAuth" : "clientAuth"}`,
        "subjectKeyIdentifier = hash",
        "authorityKeyIdentifier = keyid",
        ...(spec.dnsNames || spec.ips
          ? [
              `subjectAltName = ${[
                ...(spec.dnsNames ?? []).map((d) => `DNS:${d}`),
                ...(spec.ips ?? []).map((ip) => `IP:${ip}`),
              ].join(", ")}`,
            ]
          : []),
      ];
  return ["[req]", "prompt = no", "distinguished_name = dn", "[dn]", ...dn, "[ext]", ...ext, ""].join("\n");
}

/** What a certificate was made from; a change (new SAN, new CA) makes it be re-issued. */
async function fingerprintOf(spec: CertificateSpec): Promise<string> {
  const ca = await readFile((spec.issuer ?? clusterCa).cert, "utf8");
  return `${requestConfig(spec)}\nca=${ca.length}:${ca.slice(-80)}`;
}

async function ensureCa(ca: Authority): Promise<void> {
  if (existsSync(ca.cert) && existsSync(ca.key)) return;
  await newRsaKey(ca.key);
  const config = join(pkiDir, `${ca.file}.cnf`);
  await writeFile(config, requestConfig(ca));
  const tmp = `${ca.cert}.tmp-${process.pid}`;
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    ca.key,
    "-config",
    config,
    "-extensions",
    "ext",
    "-days",
    validityDays,
    "-sha256",
    "-out",
    tmp,
  ]);
  await rename(tmp, ca.cert);
  await rm(config, { force: true });
}

async function ensureCertificate(spec: CertificateSpec): Promise<void> {
  const cert = join(pkiDir, `${spec.file}.crt`);
  const key = join(pkiDir, `${spec.file}.key`);
  const stamp = join(pkiDir, `${spec.file}.spec`);
  const wanted = await fingerprintOf(spec);
  const have = await readFile(stamp, "utf8").catch(() => undefined);
  if (have === wanted && existsSync(cert) && existsSync(key)) return;
  await newRsaKey(key);
  const config = join(pkiDir, `${spec.file}.cnf`);
  const csr = join(pkiDir, `${spec.file}.csr`);
  await writeFile(config, requestConfig(spec));
  await openssl(["req", "-new", "-key", key, "-config", config, "-out", csr]);
  // A positive serial of at most 20 bytes, as Go's x509 parser requires.
  const serial = `0x01${randomBytes(15).toString("hex")}`;
  const tmp = `${cert}.tmp-${process.pid}`;
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    (spec.issuer ?? clusterCa).cert,
    "-CAkey",
    (spec.issuer ?? clusterCa).key,
    "-set_serial",
    serial,
    "-days",
    validityDays,
    "-sha256",
    "-extfile",
    config,
    "-extensions",
    "ext",
    "-out",
    tmp,
  ]);
  await rename(tmp, cert);
  await rm(config, { force: true });
  await rm(csr, { force: true });
  await writeAtomically(stamp, wanted);
}

async function ensureServiceAccountKeys(): Promise<void> {
  if (existsSync(pkiFiles.serviceAccountKey) && existsSync(pkiFiles.serviceAccountPub)) return;
  await newRsaKey(pkiFiles.serviceAccountKey);
  const tmp = `${pkiFiles.serviceAccountPub}.tmp-${process.pid}`;
  await openssl(["pkey", "-in", pkiFiles.serviceAccountKey, "-pubout", "-out", tmp]);
  await rename(tmp, pkiFiles.serviceAccountPub);
}

function clientSpec(identity: ClientIdentity): CertificateSpec {
  return {
    file: identity.file,
    commonName: identity.user,
    organizations: identity.groups,
    usage: "client",
  };
}

async function base64Of(path: string): Promise<string> {
  return (await readFile(path)).toString("base64");
}

/** A kubeconfig with the certificates embedded, so it works from any directory and in any client. */
async function writeKubeconfig(identity: ClientIdentity): Promise<void> {
  const cluster = "tally-local";
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: cluster,
        cluster: { server: kubeApiserverUrl, "certificate-authority-data": await base64Of(pkiFiles.caCert) },
      },
    ],
    users: [
      {
        name: identity.user,
        user: {
          "client-certificate-data": await base64Of(join(pkiDir, `${identity.file}.crt`)),
          "client-key-data": await base64Of(join(pkiDir, `${identity.file}.key`)),
        },
      },
    ],
    contexts: [{ name: cluster, context: { cluster, user: identity.user } }],
    "current-context": cluster,
    preferences: {},
  };
  await writeIfChanged(identity.kubeconfig, stringify(config));
}

async function generate(): Promise<void> {
  await mkdir(pkiDir, { recursive: true, mode: 0o700 });
  // A new CA changes the fingerprint of every certificate it signs, so they are re-issued.
  await ensureCa(clusterCa);
  await ensureCa(frontProxyCa);
  await ensureServiceAccountKeys();
  await ensureCertificate(apiserverSpec);
  await ensureCertificate(frontProxyClientSpec);
  for (const identity of Object.values(clientIdentities)) {
    await ensureCertificate(clientSpec(identity));
    await writeKubeconfig(identity);
  }
}

let pending: Promise<void> | undefined;

/**
 * Makes sure every certificate, key and kubeconfig exists. Several services call it while the
 * stack starts them together; they share one run.
 */
export function ensurePki(): Promise<void> {
  pending ??= generate().finally(() => {
    pending = undefined;
  });
  return pending;
}

/** TLS options for talking to the apiserver as the admin (probes, the stack's own kubectl calls). */
export async function adminTls(): Promise<{ ca: Buffer; cert: Buffer; key: Buffer }> {
  const [ca, cert, key] = await Promise.all([
    readFile(pkiFiles.caCert),
    readFile(join(pkiDir, `${clientIdentities.admin.file}.crt`)),
    readFile(join(pkiDir, `${clientIdentities.admin.file}.key`)),
  ]);
  return { ca, cert, key };
}
