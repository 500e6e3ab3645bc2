/** Apps (a FlowRun object's "site") and their builds; exactly one build per app is active. */
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { AppEntity, BuildEntity, type App, type Build } from '../../../../db/entities';
import { keysetPage, type Page, type PageQuery } from '../../../../db/keyset';
import { ConflictError, NotFoundError } from '../../../../domain/errors';
import { secretNames, shownVariables } from '../secret-variables';

export const PLATFORMS = ['web', 'ios', 'android'] as const;
export type Platform = App['platform'];

export interface AppInput {
  name: string;
  platform: Platform;
  bundleId?: string;
  baseUrl?: string;
  variables: Record<string, string>;
  secrets?: string[];
}

export interface BuildInput {
  version?: string;
  variables: Record<string, string>;
  secrets?: string[];
  activate: boolean;
}

export const appSchema = z.object({
  id: z.string(),
  name: z.string(),
  platform: z.enum(PLATFORMS),
  bundleId: z.string().nullable(),
  baseUrl: z.string().nullable(),
  /** Secret variables' values show as `***`. */
  variables: z.record(z.string(), z.string()),
  secrets: z.array(z.string()),
  activeBuildId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type AppDto = z.infer<typeof appSchema>;

export const buildSchema = z.object({
  id: z.string(),
  appId: z.string(),
  version: z.string().nullable(),
  /** Secret variables' values show as `***`. */
  variables: z.record(z.string(), z.string()),
  secrets: z.array(z.string()),
  active: z.boolean(),
  createdAt: z.string(),
});
export type BuildDto = z.infer<typeof buildSchema>;

const toAppDto = (a: App): AppDto => ({
  id: a.id,
  name: a.name,
  platform: a.platform,
  bundleId: a.bundleId,
  baseUrl: a.baseUrl,
  variables: shownVariables(a.variables, a.secrets),
  secrets: a.secrets,
  activeBuildId: a.activeBuildId,
  createdAt: a.createdAt.toISOString(),
  updatedAt: a.updatedAt.toISOString(),
});

const toBuildDto = (b: Build, activeBuildId: string | null): BuildDto => ({
  id: b.id,
  appId: b.appId,
  version: b.version,
  variables: shownVariables(b.variables, b.secrets),
  secrets: b.secrets,
  active: b.id === activeBuildId,
  createdAt: b.createdAt.toISOString(),
});

export async function createApp(ds: DataSource, accountId: string, input: AppInput): Promise<AppDto> {
  const now = new Date();
  const app: App = {
    id: randomUUID(),
    accountId,
    name: input.name,
    platform: input.platform,
    bundleId: input.bundleId ?? null,
    baseUrl: input.baseUrl ?? null,
    variables: input.variables,
    secrets: secretNames(input.secrets),
    activeBuildId: null,
    createdAt: now,
    updatedAt: now,
  };
  const inserted = await ds.getRepository(AppEntity).createQueryBuilder().insert().values(app).orIgnore().execute();
  if (!(inserted.raw as unknown[]).length)
    throw new ConflictError(`an ${input.platform} app with bundleId "${input.bundleId}" already exists`, ['bundleId']);
  return toAppDto(app);
}

export async function listApps(ds: DataSource, accountId: string, page: PageQuery): Promise<Page<AppDto>> {
  const qb = ds.getRepository(AppEntity).createQueryBuilder('a').where('a.accountId = :accountId', { accountId });
  return keysetPage(qb, 'a', page, toAppDto);
}

/** The account's app, or NotFound: another account's app is indistinguishable from a missing one. */
async function findApp(m: EntityManager, accountId: string, appId: string, lock = false): Promise<App> {
  const qb = m.getRepository(AppEntity).createQueryBuilder('a').where('a.id = :appId AND a.accountId = :accountId', { appId, accountId });
  if (lock) qb.setLock('pessimistic_write');
  const app = await qb.getOne();
  if (!app) throw new NotFoundError('app', ['appId']);
  return app;
}

export async function getApp(ds: DataSource, accountId: string, appId: string): Promise<AppDto> {
  return toAppDto(await findApp(ds.manager, accountId, appId));
}

export async function createBuild(ds: DataSource, accountId: string, appId: string, input: BuildInput): Promise<BuildDto> {
  return ds.transaction(async (m) => {
    const app = await findApp(m, accountId, appId, input.activate);
    const build: Build = {
      id: randomUUID(),
      accountId,
      appId,
      version: input.version ?? null,
      variables: input.variables,
      secrets: secretNames(input.secrets),
      createdAt: new Date(),
    };
    await m.getRepository(BuildEntity).insert(build);
    let active = app.activeBuildId;
    if (input.activate) {
      await m.getRepository(AppEntity).update({ id: appId }, { activeBuildId: build.id });
      active = build.id;
    }
    return toBuildDto(build, active);
  });
}

export async function listBuilds(ds: DataSource, accountId: string, appId: string, page: PageQuery): Promise<Page<BuildDto>> {
  const app = await findApp(ds.manager, accountId, appId);
  const qb = ds.getRepository(BuildEntity).createQueryBuilder('b').where('b.appId = :appId', { appId });
  return keysetPage(qb, 'b', page, (b) => toBuildDto(b, app.activeBuildId));
}

export async function activateBuild(ds: DataSource, accountId: string, appId: string, buildId: string): Promise<BuildDto> {
  return ds.transaction(async (m) => {
    await findApp(m, accountId, appId, true);
    const build = await m.getRepository(BuildEntity).findOneBy({ id: buildId, appId, accountId });
    if (!build) throw new NotFoundError('build', ['buildId']);
    await m.getRepository(AppEntity).update({ id: appId }, { activeBuildId: build.id });
    return toBuildDto(build, build.id);
  });
}
