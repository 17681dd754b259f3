import { AppError, type ErrorCode } from '../kernel/errors.js';
import { BlobError } from '../blobs/blobs.store.js';
import { PathError } from './datasets.paths.js';

/**
 * Storage and path errors carry their own stable codes (the blob and path layers know nothing
 * about HTTP); every dataset entry point passes failures through here so they reach the caller with
 * the catalog's status. Anything else is rethrown untouched.
 */
export function toAppError(e: unknown): unknown {
  if (e instanceof BlobError) {
    if (e.code === 'blob_store_unavailable') return new AppError('blob_store_unavailable', 'File storage is unavailable right now; retry later');
    return new AppError(e.code as ErrorCode, e.message, e.details);
  }
  if (e instanceof PathError) {
    const details = e.problems.map((p) => ({ code: p.code, path: p.path, message: p.message, ...(p.other ? { other: p.other } : {}) }));
    return new AppError(e.code as ErrorCode, e.message, details);
  }
  return e;
}

export async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toAppError(e);
  }
}
