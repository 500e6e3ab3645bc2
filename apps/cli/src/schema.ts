/** The flow JSON Schema, for the build to write into the package (dist/flow.schema.json). */
export { flowJsonSchema } from '../../../domain/flow-schema';
