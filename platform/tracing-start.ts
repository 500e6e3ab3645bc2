/**
 * Imported first by an entry point (before Express, pg or undici load, so the instrumentations can
 * patch them): starts tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set, named after the entry
 * (`flowruns-gateway`, `flowruns-worker`, `flowruns-dev`). Does nothing else when it is not.
 */
import path from 'node:path';
import { startTracing } from './tracing';

const entry = process.argv[1] ?? '';
const role = ['gateway', 'worker', 'dev', 'agent'].find((r) => entry.split(path.sep).includes(r)) ?? 'platform';
startTracing(role);
