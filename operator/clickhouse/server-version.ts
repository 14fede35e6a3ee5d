/**
 * Which ClickHouse servers Tally supports (pure). The DDL relies on features of 24.x and later
 * (SimpleAggregateFunction and -If states in AggregatingMergeTree, MOVE PARTITION between tables,
 * insert deduplication tokens on non-replicated tables with dependent views).
 */
const minimumServerVersion = { major: 24, minor: 3 } as const;

export type VersionCheck =
  | { readonly supported: true; readonly version: string }
  | { readonly supported: false; readonly version: string; readonly message: string };

export function checkServerVersion(version: string): VersionCheck {
  const match = /^(\d+)\.(\d+)/.exec(version.trim());
  if (match === null) {
    return {
      supported: false,
      version,
      message: `ClickHouse reported version "${version}", which is not a version number`,
    };
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const ok =
    major > minimumServerVersion.major ||
    (major === minimumServerVersion.major && minor >= minimumServerVersion.minor);
  return ok
    ? { supported: true, version }
    : {
        supported: false,
        version,
        message: `ClickHouse ${version} is not supported; Tally needs ${minimumServerVersion.major}.${minimumServerVersion.minor} or newer`,
      };
}
