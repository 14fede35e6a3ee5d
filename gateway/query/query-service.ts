/**
 * What the HTTP layer asks of the query side. The implementation (`createQueryService`) plans with the
 * pure router, reads through the result cache and runs parameterized SQL on ClickHouse.
 */
import type { SourcesResponse } from "../../api/v1alpha1/query.js";
import type { QueryApiRequest, QueryApiResponse } from "../../api/v1alpha1/segment.js";

export interface QueryOptions {
  /** `?explain=true`: plan and SQL, nothing run. */
  readonly explainOnly: boolean;
  /** `Cache-Control: no-cache`: run, then refresh the cache. */
  readonly bypassCache: boolean;
}

export interface QueryService {
  /** GET /api/v1/namespaces/{ns}/sources. Throws QueryRefusal (404) for a namespace with no pipelines. */
  sources(namespace: string): Promise<SourcesResponse>;
  /** POST /api/v1/namespaces/{ns}/query (with a segment, a comparison). Throws QueryRefusal for a request it will not run. */
  query(namespace: string, request: QueryApiRequest, options: QueryOptions): Promise<QueryApiResponse>;
}
