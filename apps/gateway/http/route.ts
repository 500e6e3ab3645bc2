/**
 * A route is declared once: its zod schemas validate the request, type the handler and
 * generate the OpenAPI document. `mountRoutes` (router.ts) turns the list into Express routes.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { AuthContext, Scope } from '../deps';
import type { FieldLocations } from './errors';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

type Infer<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface HandlerContext<P, Q, B> {
  params: Infer<P>;
  query: Infer<Q>;
  body: Infer<B>;
  /** Present on every route whose `auth` is not 'none'. */
  auth: AuthContext;
  req: Request;
  res: Response;
  /** Absolute base URL of this gateway (PUBLIC_URL, else from the request), without a trailing slash. */
  baseUrl: string;
}

/** A JSON body (sent with `spec.status`, default 200), a `reply(...)`, or undefined when the handler wrote `res` itself. */
export type HandlerResult = unknown;

export interface RouteSpec<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined> {
  method: Method;
  /** Express-style path, e.g. `/api/v1/flows/:flowId`. */
  path: string;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Response schema: the OpenAPI document's, and what the router checks replies against when strict. */
  response?: z.ZodType;
  /** Where the use case's inputs came from in the request, for the `loc` of its domain errors. */
  fields?: FieldLocations;
  /** Success status (default 200). */
  status?: number;
  /** 'account' (default): any valid key; 'admin': the admin key only; 'none': public. */
  auth?: 'account' | 'admin' | 'none';
  /** The key scope the route needs: by default `read` for GET, `run` for the rest. */
  scope?: Scope;
  /** Status for a client's mistake (validation, or a use case's InvalidError): 400, or 422 where the contract says so. */
  validationStatus?: 400 | 422;
  handler: (ctx: HandlerContext<P, Q, B>) => Promise<HandlerResult> | HandlerResult;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteSpec<any, any, any>;

/** Identity function that keeps the handler's types inferred from the schemas. */
export function defineRoute<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<P, Q, B>,
): RouteSpec<P, Q, B> {
  return spec;
}

/** Marks a handler result as a full reply with a status other than the route's default. */
export const reply = (status: number, body: unknown, headers?: Record<string, string>) => ({ __reply: true as const, status, body, headers });
export type Reply = ReturnType<typeof reply>;
export const isReply = (v: unknown): v is Reply => typeof v === 'object' && v !== null && (v as Reply).__reply === true;
