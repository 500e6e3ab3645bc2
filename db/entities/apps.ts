/** Tables of apps under test: `apps` and their `builds`. */
import { EntitySchema } from 'typeorm';
import { text, textNull, jsonbObject, textArray, ts } from './columns';

export interface App {
  id: string;
  accountId: string;
  name: string;
  platform: 'web' | 'ios' | 'android';
  bundleId: string | null;
  baseUrl: string | null;
  variables: Record<string, string>;
  /** Names of the variables declared secret. */
  secrets: string[];
  activeBuildId: string | null;
  createdAt: Date;
  updatedAt: Date;
}
export interface Build {
  id: string;
  accountId: string;
  appId: string;
  version: string | null;
  variables: Record<string, string>;
  /** Names of the variables declared secret. */
  secrets: string[];
  createdAt: Date;
}

export const AppEntity = new EntitySchema<App>({
  name: 'App',
  tableName: 'apps',
  columns: {
    id: { ...text, primary: true },
    accountId: { ...text, name: 'account_id' },
    name: text,
    platform: text,
    bundleId: { ...textNull, name: 'bundle_id' },
    baseUrl: { ...textNull, name: 'base_url' },
    variables: jsonbObject,
    secrets: textArray,
    activeBuildId: { ...textNull, name: 'active_build_id' },
    createdAt: { ...ts('created_at'), createDate: true },
    updatedAt: { ...ts('updated_at'), updateDate: true },
  },
});

export const BuildEntity = new EntitySchema<Build>({
  name: 'Build',
  tableName: 'builds',
  columns: {
    id: { ...text, primary: true },
    accountId: { ...text, name: 'account_id' },
    appId: { ...text, name: 'app_id' },
    version: textNull,
    variables: jsonbObject,
    secrets: textArray,
    createdAt: { ...ts('created_at'), createDate: true },
  },
});
