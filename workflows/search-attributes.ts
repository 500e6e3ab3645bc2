/** Custom search attributes carried by every workflow, so operators find runs in the Temporal UI. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const FLOW_ID = defineSearchAttributeKey('FlowId', SearchAttributeType.KEYWORD);
export const BATCH_ID = defineSearchAttributeKey('BatchId', SearchAttributeType.KEYWORD);
export const ACCOUNT_ID = defineSearchAttributeKey('AccountId', SearchAttributeType.KEYWORD);
export const RUN_SOURCE = defineSearchAttributeKey('RunSource', SearchAttributeType.KEYWORD);

/** Names and types, as `temporal server start-dev --search-attribute` and the operator service take them. */
export const SEARCH_ATTRIBUTES = [FLOW_ID, BATCH_ID, ACCOUNT_ID, RUN_SOURCE].map((k) => ({ name: k.name, type: 'Keyword' as const }));
