/**
 * Where artifact files (screenshots, diff images, rendered HTML) live; `run_artifacts` lists
 * them. A directory by default (FLOWRUNS_ARTIFACTS_DIR, `.data/artifacts` under `npm run dev`),
 * shared by the gateway that serves the files and the workers that write them; an S3-compatible
 * bucket instead when FLOWRUNS_ARTIFACTS_S3_BUCKET is set (AWS S3, MinIO, …). Keys are
 * slash-separated names made of safe segments only, so a key can never leave the root (or the
 * bucket's prefix). The store is operator configuration: the egress policy of http steps does not
 * apply to it.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as S3 from '@aws-sdk/client-s3';

export interface ArtifactStore {
  put(key: string, data: Buffer): Promise<void>;
  /** The file's bytes, or null when there is none; a file larger than the store's cap is an error. */
  get(key: string): Promise<Buffer | null>;
  /** Removes every file whose key starts with `prefix/` (a run's files). */
  removeAll(prefix: string): Promise<void>;
}

/** The largest file a read returns (the gateway buffers what it serves): far above any screenshot or page. */
export const MAX_ARTIFACT_BYTES = 64 * 1024 * 1024;

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;

/** A key from its segments; throws on a segment that could escape the root or is not a plain name. */
export function artifactKey(...segments: string[]): string {
  for (const s of segments) if (!SEGMENT.test(s) || s.includes('..')) throw new Error(`not a safe artifact key segment: ${JSON.stringify(s)}`);
  return segments.join('/');
}

/** Checks a whole key (`a/b/c`) as `artifactKey` checks its segments, and returns it. */
const checkedKey = (key: string): string => artifactKey(...key.split('/'));

const tooLarge = (key: string, bytes: number, max: number) => new Error(`artifact ${key} is ${bytes} bytes, more than the store's cap of ${max}`);

export function directoryStore(root: string, maxBytes = MAX_ARTIFACT_BYTES): ArtifactStore {
  const file = (key: string) => path.join(root, ...checkedKey(key).split('/'));
  return {
    async put(key, data) {
      const target = file(key);
      await fs.mkdir(path.dirname(target), { recursive: true });
      // Written whole then renamed, so a reader never sees half a file.
      const tmp = `${target}.${randomUUID()}.tmp`;
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, target);
    },
    async get(key) {
      let handle: fs.FileHandle;
      try {
        handle = await fs.open(file(key), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      try {
        const { size } = await handle.stat();
        if (size > maxBytes) throw tooLarge(key, size, maxBytes);
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    },
    async removeAll(prefix) {
      await fs.rm(file(prefix), { recursive: true, force: true });
    },
  };
}

export interface S3StoreOptions {
  bucket: string;
  /** An S3-compatible server (MinIO, …); addressed path-style (`endpoint/bucket/key`) when set. */
  endpoint?: string;
  region: string;
  /** Prepended to every key (`flowruns/prod` → `flowruns/prod/runs/<id>/…`); safe segments only. */
  prefix?: string;
  maxBytes?: number;
  /** Keys per ListObjectsV2 page, hence per DeleteObjects call: 1000 (S3's own limit) unless smaller. */
  pageSize?: number;
}

/** Objects per ListObjectsV2 page and per DeleteObjects call: S3's own limit. */
const PAGE = 1000;
/** More pages than this under one run's prefix means something is wrong: stop rather than loop on. */
const MAX_PAGES = 10_000;

/** `FLOWRUNS_ARTIFACTS_S3_PREFIX` normalised: safe segments joined by `/`, with a trailing `/`, or empty. */
export function s3KeyPrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed ? `${checkedKey(trimmed)}/` : '';
}

/**
 * A bucket as the artifact store. Credentials come from the AWS SDK's default chain
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an instance or task role). The AWS SDK
 * is loaded with the first request (about 10 MB a process that stores its artifacts on disk never
 * spends); `destroy` closes the client's connections.
 */
export function s3Store(opts: S3StoreOptions): ArtifactStore & { destroy(): Promise<void> } {
  const maxBytes = opts.maxBytes ?? MAX_ARTIFACT_BYTES;
  const pageSize = Math.min(Math.max(1, Math.floor(opts.pageSize ?? PAGE)), PAGE);
  const base = s3KeyPrefix(opts.prefix);
  let loaded: Promise<{ sdk: typeof S3; client: S3.S3Client }> | undefined;
  const s3 = () =>
    (loaded ??= import('@aws-sdk/client-s3').then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: opts.region,
        ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
        // Checksums only where the API requires one (DeleteObjects): S3-compatible servers do not all know the newer ones.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
      }),
    })));
  const Bucket = opts.bucket;
  const objectKey = (key: string) => base + checkedKey(key);
  return {
    async destroy() {
      if (loaded) (await loaded).client.destroy();
    },
    async put(key, data) {
      const { sdk, client } = await s3();
      // A PUT replaces the object whole: a reader never sees half a file.
      await client.send(new sdk.PutObjectCommand({ Bucket, Key: objectKey(key), Body: data, ContentLength: data.byteLength }));
    },
    async get(key) {
      const Key = objectKey(key);
      const { sdk, client } = await s3();
      const abort = new AbortController();
      let out: S3.GetObjectCommandOutput;
      try {
        out = await client.send(new sdk.GetObjectCommand({ Bucket, Key }), { abortSignal: abort.signal });
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return null;
        throw err;
      }
      const body = out.Body as AsyncIterable<Uint8Array> | undefined;
      if (!body) return Buffer.alloc(0);
      if (out.ContentLength !== undefined && out.ContentLength > maxBytes) {
        abort.abort();
        throw tooLarge(key, out.ContentLength, maxBytes);
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      try {
        for await (const chunk of body) {
          bytes += chunk.byteLength;
          if (bytes > maxBytes) throw tooLarge(key, bytes, maxBytes);
          chunks.push(Buffer.from(chunk));
        }
      } catch (err) {
        abort.abort();
        throw err;
      }
      return Buffer.concat(chunks, bytes);
    },
    async removeAll(prefix) {
      const Prefix = `${objectKey(prefix)}/`;
      const { sdk, client } = await s3();
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const listed = await client.send(new sdk.ListObjectsV2Command({ Bucket, Prefix, MaxKeys: pageSize, ContinuationToken: token }));
        // A server may answer more keys than asked: deleted in slices of at most pageSize.
        const keys = (listed.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        for (let i = 0; i < keys.length; i += pageSize) {
          const res = await client.send(new sdk.DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.slice(i, i + pageSize), Quiet: true } }));
          const failed = res.Errors ?? [];
          if (failed.length > 0) throw new Error(`deleting ${failed.length} objects under s3://${Bucket}/${Prefix} failed, e.g. ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message}`);
        }
        if (!listed.IsTruncated || !listed.NextContinuationToken) return;
        token = listed.NextContinuationToken;
      }
      throw new Error(`more than ${MAX_PAGES * pageSize} objects under s3://${Bucket}/${Prefix}: stopped deleting`);
    },
  };
}

/** What chooses the store: Config's `artifactsDir` and, when a bucket is configured, `artifactsS3`. */
export interface ArtifactStoreSettings {
  artifactsDir: string;
  artifactsS3?: S3StoreOptions;
}

const stores = new Map<string, ArtifactStore>();

/**
 * The configured artifact store: the bucket when one is set, else the directory. One per process
 * and settings, so an S3 client (and its connections) is shared by every caller.
 */
export function artifactStoreFor(settings: ArtifactStoreSettings): ArtifactStore {
  const id = JSON.stringify(settings.artifactsS3 ? ['s3', settings.artifactsS3] : ['dir', settings.artifactsDir]);
  let store = stores.get(id);
  if (!store) stores.set(id, (store = settings.artifactsS3 ? s3Store(settings.artifactsS3) : directoryStore(settings.artifactsDir)));
  return store;
}
