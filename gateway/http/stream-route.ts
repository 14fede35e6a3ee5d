/**
 * GET /api/v1/namespaces/{ns}/stream: the live stream as Server-Sent Events. Authorized as /query (read
 * scope); the parameters are checked and the Dashboard looked up before the stream starts, so those
 * refusals are ordinary JSON errors (400 naming the parameter, 404). Then the reply is taken over from
 * fastify and the socket handed to the stream hub, which writes the frames (stream-hub.ts).
 */
import type { Static } from "@sinclair/typebox";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { StreamHub } from "../stream/stream-hub.js";
import { parseStreamRequest } from "../stream/stream-request.js";
import { authorizeFor } from "./authorize.js";
import { type NamespaceParams, type StreamQuerystring, streamRoute } from "./route-schemas.js";

type StreamRequest = FastifyRequest<{
  Params: Static<typeof NamespaceParams>;
  Querystring: Static<typeof StreamQuerystring>;
}>;

/** The client's Last-Event-ID header, when it is one a stream could have sent. */
function lastEventId(request: FastifyRequest): string | undefined {
  const value = request.headers["last-event-id"];
  return typeof value === "string" && value.length > 0 && value.length <= 128 ? value : undefined;
}

export function streamRoutes(hub: StreamHub): FastifyPluginAsync {
  const { produces: _produces, ...route } = streamRoute;
  return async (scope) => {
    scope.route({
      ...route,
      preParsing: authorizeFor("read", "Streaming"),
      handler: async (request: StreamRequest, reply: FastifyReply) => {
        const { namespace } = request.params;
        const parsed = parseStreamRequest(request.query);
        if (!parsed.ok) return reply.code(400).send(parsed.error);
        const { source, filter } = parsed;
        if (source.kind === "dashboard" && !hub.dashboardExists(namespace, source.name))
          return reply.code(404).send({
            error: "NotFound",
            message: `namespace ${namespace} has no Dashboard "${source.name}"`,
            field: "dashboard",
          });
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache, no-transform",
          // nginx and its kin buffer responses unless told not to: a frame must go out when it is written.
          "x-accel-buffering": "no",
        });
        raw.flushHeaders();
        raw.socket?.setNoDelay(true);
        const openedAt = Date.now();
        const authentication = request.authentication;
        const subscription = hub.subscribe({ namespace, source, filter }, lastEventId(request), {
          write: (frame) => (raw.writableEnded || raw.destroyed ? true : raw.write(frame)),
          close: () => {
            if (!raw.writableEnded) raw.end();
          },
        });
        raw.on("drain", () => subscription.drained());
        raw.on("close", () => {
          subscription.close();
          request.log.info(
            {
              namespace,
              route: streamRoute.url,
              method: "GET",
              status: 200,
              ms: Date.now() - openedAt,
              view: source.kind === "dashboard" ? source.name : "query",
              token: authentication?.kind === "authenticated" ? authentication.grant.identity : undefined,
            },
            "stream closed",
          );
        });
      },
    });
  };
}
