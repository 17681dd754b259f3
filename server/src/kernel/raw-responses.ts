import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog, type ErrorCode } from './errors.js';

/**
 * Answers that do not go through Fastify's reply (so not through the error handler nor the
 * onRequest/onSend hooks) still use the catalog's error shape and carry the security headers:
 * a request the HTTP parser refused (oversized headers, malformed request line), a URL the router
 * cannot decode, and replies a route hands over to the raw response (tus, Server-Sent Events).
 */

export function errorJson(code: ErrorCode, message: string, requestId?: string, details?: unknown): string {
  return JSON.stringify({ error: { code, message, ...(details !== undefined ? { details } : {}), ...(requestId ? { requestId } : {}) } });
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the request before any route ran.
 * Written on the socket by hand (there is no response object yet), then the connection closes,
 * as Node does by default.
 */
export function clientErrorHandler(headers: Record<string, string>) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let status: number;
    let body: string;
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      body = errorJson('headers_too_large', 'The request headers are too large');
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      body = errorJson('request_timeout', 'The request took too long to arrive');
    } else {
      status = 400;
      body = errorJson('invalid_request', 'The request could not be parsed as HTTP');
    }
    if (socket.writable) {
      const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      lines.push('content-type: application/json; charset=utf-8', `content-length: ${Buffer.byteLength(body)}`, 'cache-control: no-store', 'connection: close');
      socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}

/** Fastify's `frameworkErrors`: errors raised before routing (a path that is not valid percent-encoding). */
export function frameworkErrors(headers: Record<string, string>) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    reply.headers(headers).header('x-request-id', request.id).header('cache-control', 'no-store').type('application/json; charset=utf-8');
    if (err.code === 'FST_ERR_BAD_URL') {
      void reply.status(400).send(errorJson('invalid_url', 'The URL path is not valid percent-encoding', request.id));
      return;
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
    void reply.status(status).send(errorJson('invalid_request', 'The request could not be understood', request.id));
  };
}

/**
 * Before a route hands its reply to the raw response (`reply.hijack()`): the headers Fastify
 * would have sent (security headers set by the onRequest hook, the request id, no-store) are set
 * on the raw response, where `writeHead` merges them with the route's own.
 */
export function rawHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const res = reply.raw;
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) res.setHeader(k, v as string | number | string[]);
  res.setHeader('x-request-id', request.id);
  res.setHeader('cache-control', 'no-store');
}

/** The catalog code for an HTTP status a library chose (tus answers with bare statuses and text). */
export function codeForStatus(status: number): ErrorCode {
  const byStatus: Record<number, ErrorCode> = {
    400: 'invalid_request',
    401: 'unauthenticated',
    403: 'forbidden',
    404: 'not_found',
    409: 'conflict',
    410: 'upload_gone',
    412: 'precondition_failed',
    413: 'payload_too_large',
    415: 'unsupported_media_type',
    429: 'rate_limited',
    503: 'unavailable',
  };
  return byStatus[status] ?? (status >= 500 ? 'internal_error' : 'invalid_request');
}

export const isCatalogCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(errorCatalog, code);
