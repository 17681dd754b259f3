import { Type } from 'typebox';

/** Any JSON object (the schema stays `{type: object}`), typed for handlers as a record of unknowns. */
export const AnyObject = (opts: Record<string, unknown> = {}) => Type.Unsafe<Record<string, unknown>>(Type.Object({}, { additionalProperties: true, ...opts }));
