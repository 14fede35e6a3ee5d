/**
 * preParsing: before the body is read, refuse a request without a token, for a namespace that cannot
 * exist, outside the token's namespaces, or without the scope the route needs. The namespace is
 * checked before the scopes: a malformed one is the request's fault (400 naming it), not the token's
 * (a 403 would send the caller to fix its token).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import {
  forbiddenBody,
  hasScope,
  mayRead,
  missingScopeBody,
  type TokenScope,
  unauthenticatedBody,
} from "../auth/token-table.js";
import { validationErrorResponse } from "./validation-error.js";

export function authorizeFor(scope: TokenScope, operation: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const authentication = request.authentication;
    if (authentication === null || authentication.kind === "unauthenticated") {
      reply.header("www-authenticate", 'Bearer realm="tally"');
      await reply.code(401).send(unauthenticatedBody(authentication?.reason ?? "missing"));
      return reply;
    }
    const validParams = request.getValidationFunction("params");
    if (validParams !== undefined && !validParams(request.params)) {
      await reply.code(400).send(validationErrorResponse(validParams.errors ?? [], "params"));
      return reply;
    }
    const { namespace } = request.params as { namespace: string };
    if (!mayRead(authentication.grant, namespace)) {
      await reply.code(403).send(forbiddenBody(authentication.grant, namespace));
      return reply;
    }
    if (!hasScope(authentication.grant, scope)) {
      await reply.code(403).send(missingScopeBody(authentication.grant, scope, operation));
      return reply;
    }
  };
}
