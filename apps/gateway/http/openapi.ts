/**
 * The OpenAPI 3.1 document, generated from the same route list and zod schemas that the
 * router validates with, so the document cannot drift from what the gateway accepts.
 */
import { z } from 'zod';
import type { AnyRoute } from './route';

type Json = Record<string, unknown>;

const SECURITY_SCHEMES = {
  ApiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
  BearerAuth: { type: 'http', scheme: 'bearer' },
  AuthorizationHeader: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'the bare key' },
  AccessKeyHeader: { type: 'apiKey', in: 'header', name: 'AccessKey' },
} as const;

const ERROR_SCHEMA: Json = {
  type: 'object',
  required: ['error', 'detail'],
  properties: {
    error: { type: 'string' },
    detail: {
      type: 'array',
      items: {
        type: 'object',
        required: ['loc', 'msg', 'type'],
        properties: {
          loc: { type: 'array', items: { type: ['string', 'integer'] } },
          msg: { type: 'string' },
          type: { type: 'string' },
        },
      },
    },
  },
};

/** `/api/v1/flows/:flowId` → `/api/v1/flows/{flowId}`. */
export const toOpenApiPath = (path: string): string => path.replace(/[:*]([A-Za-z0-9_$]+)/g, '{$1}');

class SchemaCollector {
  readonly defs: Record<string, Json> = {};

  /** JSON Schema of `schema`; shared definitions are hoisted into components and their refs rewritten. */
  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    let json: Json;
    try {
      json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
    } catch {
      return {};
    }
    delete json.$schema;
    const defs = (json.$defs ?? {}) as Record<string, Json>;
    delete json.$defs;
    for (const [name, def] of Object.entries(defs)) this.defs[name] = this.rewrite(def) as Json;
    return this.rewrite(json) as Json;
  }

  private rewrite(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.rewrite(v));
    if (!value || typeof value !== 'object') return value;
    const out: Json = {};
    for (const [k, v] of Object.entries(value as Json))
      out[k] = k === '$ref' && typeof v === 'string' ? v.replace(/^#\/\$defs\//, '#/components/schemas/') : this.rewrite(v);
    return out;
  }
}

function parameters(collector: SchemaCollector, schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const json = collector.convert(schema, 'input');
  const props = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

const pathParamNames = (path: string): string[] => [...path.matchAll(/[:*]([A-Za-z0-9_$]+)/g)].map((m) => m[1]);

export function buildOpenApi(routes: readonly AnyRoute[], info: { title: string; version: string; description?: string }): Json {
  const collector = new SchemaCollector();
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const p = toOpenApiPath(r.path);
    const params = parameters(collector, r.params, 'path');
    for (const name of pathParamNames(r.path))
      if (!params.some((x) => x.name === name)) params.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    params.push(...parameters(collector, r.query, 'query'));
    const status = String(r.status ?? 200);
    const errorResponse = (description: string) => ({
      description,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    });
    const responses: Record<string, Json> = {
      [status]: {
        description: 'success',
        ...(status === '204' ? {} : { content: { 'application/json': { schema: r.response ? collector.convert(r.response, 'output') : {} } } }),
      },
    };
    if (r.params || r.query || r.body) responses[String(r.validationStatus ?? 400)] = errorResponse('invalid request');
    if ((r.auth ?? 'account') !== 'none') responses['401'] = errorResponse('missing, unknown or revoked API key');
    if (r.auth === 'admin') responses['403'] = errorResponse('not the admin key');
    else if ((r.auth ?? 'account') !== 'none') {
      const scope = r.scope ?? (r.method === 'get' ? 'read' : 'run');
      responses['403'] = errorResponse(`the key lacks the "${scope}" scope`);
      responses['429'] = errorResponse("over the key's rate limit; retry after Retry-After seconds");
    }
    if (r.params) responses['404'] = errorResponse('not found');
    const op: Json = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${p.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(params.length ? { parameters: params } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: collector.convert(r.body, 'input') } } } }
        : {}),
      responses,
      ...(r.auth === 'none' ? { security: [] } : {}),
    };
    (paths[p] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA, ...collector.defs },
      securitySchemes: SECURITY_SCHEMES,
    },
    security: Object.keys(SECURITY_SCHEMES).map((k) => ({ [k]: [] })),
  };
}
