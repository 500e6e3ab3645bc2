/** Registers the platform's custom search attributes on the Temporal namespace it uses. */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const INDEXED_VALUE_TYPES = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;

/**
 * Registers the platform's search attributes on a server the platform did not start
 * (TEMPORAL_ADDRESS); the gateway and worker call it at start. Idempotent: attributes already present are left alone.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
  const missing = SEARCH_ATTRIBUTES.filter((a) => !known.has(a.name));
  if (missing.length === 0) return;
  const searchAttributes = Object.fromEntries(missing.map((a) => [a.name, INDEXED_VALUE_TYPES[a.type]]));
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (err) {
    const ALREADY_EXISTS = 6;
    if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
  }
}
