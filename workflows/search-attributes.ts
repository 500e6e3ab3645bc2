/**
 * Custom search attributes carried by every workflow, so operators find runs in the Temporal UI
 * (`AppId="shop" AND ExecutionStatus="Failed"`). A batch gets its own from its trigger; the
 * workflows it starts (runs, chunks, sub-flows) inherit AppId, ScheduleId and Tags from it.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair, type TypedSearchAttributes } from '@temporalio/common';
import type { BatchMeta, Tag } from '../domain/flow-types';

export const FLOW_ID = defineSearchAttributeKey('FlowId', SearchAttributeType.KEYWORD);
export const BATCH_ID = defineSearchAttributeKey('BatchId', SearchAttributeType.KEYWORD);
export const ACCOUNT_ID = defineSearchAttributeKey('AccountId', SearchAttributeType.KEYWORD);
export const RUN_SOURCE = defineSearchAttributeKey('RunSource', SearchAttributeType.KEYWORD);
/** The app the batch ran for (its trigger's `app`), when it names one. */
export const APP_ID = defineSearchAttributeKey('AppId', SearchAttributeType.KEYWORD);
/** The schedule whose firing started the batch. */
export const SCHEDULE_ID = defineSearchAttributeKey('ScheduleId', SearchAttributeType.KEYWORD);
/** The trigger's tags, each as `key:value` (`Tags="env:prod"`). */
export const TAGS = defineSearchAttributeKey('Tags', SearchAttributeType.KEYWORD_LIST);

const TYPE_NAMES = { [SearchAttributeType.KEYWORD]: 'Keyword', [SearchAttributeType.KEYWORD_LIST]: 'KeywordList' } as const;

/** Names and types, as `temporal server start-dev --search-attribute` and the operator service take them. */
export const SEARCH_ATTRIBUTES = [FLOW_ID, BATCH_ID, ACCOUNT_ID, RUN_SOURCE, APP_ID, SCHEDULE_ID, TAGS].map((k) => ({ name: k.name, type: TYPE_NAMES[k.type] }));

export const tagValues = (tags: readonly Tag[]): string[] => tags.map((t) => `${t.key}:${t.value}`);

/** AppId, ScheduleId and Tags of a batch, those it has. */
export function labelAttributes(meta: Pick<BatchMeta, 'appId' | 'scheduleId' | 'tags'> | undefined): SearchAttributePair[] {
  if (!meta) return [];
  return [
    ...(meta.appId ? [{ key: APP_ID, value: meta.appId }] : []),
    ...(meta.scheduleId ? [{ key: SCHEDULE_ID, value: meta.scheduleId }] : []),
    ...(meta.tags?.length ? [{ key: TAGS, value: tagValues(meta.tags) }] : []),
  ];
}

/** AppId, ScheduleId and Tags of the workflow whose attributes are given (workflowInfo()), for the workflows it starts. */
export function inheritedLabels(attributes: TypedSearchAttributes | undefined): SearchAttributePair[] {
  if (!attributes) return [];
  const pairs: SearchAttributePair[] = [];
  for (const key of [APP_ID, SCHEDULE_ID]) {
    const value = attributes.get(key);
    if (value) pairs.push({ key, value });
  }
  const tags = attributes.get(TAGS);
  if (tags?.length) pairs.push({ key: TAGS, value: tags });
  return pairs;
}
