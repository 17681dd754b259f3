/**
 * The one error catalog. Every error a client can see has a stable snake_case code and an
 * HTTP status here; routes and services throw `AppError`s built from this table so the same
 * condition always answers the same way.
 */
export const errorCatalog = {
  // 400
  validation_failed: 400,
  invalid_json: 400,
  /** Text that is not valid UTF-8 or not well-formed Unicode (a lone surrogate), anywhere in a request. */
  invalid_unicode: 400,
  /** A JSON body nested deeper than the documented limit (kernel/request-text.ts). */
  json_too_deep: 400,
  /** An upload sent as CSV that is not CSV (details.line says where). */
  invalid_csv: 400,
  invalid_cursor: 400,
  invalid_request: 400,
  invalid_grant: 400,
  unsupported_grant_type: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  blob_invalid_hash: 400,
  // datasets and blobs (docs/datasets.md)
  blob_too_large: 413,
  quota_exceeded: 413,
  blob_range_invalid: 416,
  // 401
  unauthenticated: 401,
  invalid_credentials: 401,
  invalid_token: 401,
  token_expired: 401,
  totp_required: 401,
  totp_invalid: 401,
  /** A valid TOTP code whose time step was already used (each code signs in once). */
  totp_reused: 401,
  /** A recovery code that is not one of the user's unused codes (docs/security.md, "Recovery codes"). */
  recovery_code_invalid: 401,
  invalid_client: 401,
  // 403
  forbidden: 403,
  csrf_failed: 403,
  account_disabled: 403,
  totp_enrolment_required: 403,
  // 404
  not_found: 404,
  route_not_found: 404,
  blob_not_found: 404,
  path_not_found: 404,
  // 409
  conflict: 409,
  already_set_up: 409,
  username_taken: 409,
  session_active: 409,
  session_ended: 409,
  instrument_retired: 409,
  version_conflict: 409,
  path_case_collision: 409,
  path_conflict: 409,
  draft_conflict: 409,
  draft_invalid: 409,
  version_exists: 409,
  session_closed: 409,
  /** A transactionId replayed into a different target (route, type, stream or session) than its first use. */
  idempotency_conflict: 409,
  // 422
  unprocessable: 422,
  schema_violation: 422,
  /** Checking one event against its type's schema outlived its time budget (docs/security.md). */
  validation_budget_exceeded: 422,
  invalid_schema: 422,
  invalid_instrument_definition: 422,
  invalid_submission: 422,
  invalid_import: 422,
  invalid_identifier: 422,
  blob_hash_mismatch: 422,
  blob_size_mismatch: 422,
  path_invalid: 422,
  path_traversal: 422,
  path_too_long: 422,
  upload_missing: 422,
  // views (docs/views.md): a failed run is the view's fault, not the caller's request, but
  // retrying it unchanged fails the same way, so 422 (408 would invite automatic retries)
  view_timeout: 422,
  view_memory_exceeded: 422,
  view_output_too_large: 422,
  view_runtime_error: 422,
  view_invalid_result: 422,
  view_compile_error: 422,
  view_query_invalid: 422,
  view_not_approved: 403,
  view_template_in_use: 409,
  view_unavailable: 503,
  // civil registration (docs/registrations.md)
  registration_not_assigned: 409,
  registration_assigned_elsewhere: 409,
  action_not_allowed: 409,
  potential_duplicate_unresolved: 409,
  unknown_action: 422,
  registration_role_required: 403,
  invalid_registration_type: 422,
  invalid_registration_data: 422,
  hook_rejected: 422,
  not_registered: 409,
  registration_hook_failed: 502,
  /** An SVG certificate template that is not well-formed, refers outside itself, scripts, or uses an unknown placeholder (docs/certificates.md). */
  certificate_template_invalid: 422,
  // 423
  account_locked: 423,
  // 429
  rate_limited: 429,
  // 5xx (never for bad input)
  internal_error: 500,
  unavailable: 503,
  blob_store_unavailable: 503,
  /** PostgreSQL cannot be reached (restarting, failing over, out of connections): retry after Retry-After (docs/operations.md). */
  database_unavailable: 503,
  // answered outside Fastify's reply (kernel/raw-responses.ts) and by tus
  headers_too_large: 431,
  request_timeout: 408,
  invalid_url: 400,
  upload_gone: 410,
  precondition_failed: 412,
  /** Every view sandbox slot is busy and the queue is full: retry after Retry-After (docs/views.md). */
  sandbox_busy: 503,
  /** A registration search ran past its statement timeout (docs/search.md). */
  search_timeout: 503,
  // remote capture (docs/remote-capture.md)
  /** Cancelling an assignment that is already completed, cancelled or expired. */
  assignment_closed: 409,
  /** No gateway configured (CAIRN_GATEWAY_URL / CAIRN_GATEWAY_KEY): the instance's state, not an outage, so 4xx. */
  remote_capture_unavailable: 409,
  /** The gateway could not be reached or refused the core's call. */
  gateway_unavailable: 503,
  /** An email address was given but no SMTP server is configured (CAIRN_SMTP_URL). */
  mail_unavailable: 409,
  // data hub (docs/instruments.md)
  /** An export filter names subject ids the workspace does not have (missing or elsewhere alike: nothing leaks). */
  unknown_subject: 422,
  /** A subject label already used by another subject of the workspace. */
  subject_label_taken: 409,
} as const;

export type ErrorCode = keyof typeof errorCatalog;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.status = errorCatalog[code];
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** Shorthand used across services: `throw fail('not_found', 'No such event')`. */
export function fail(code: ErrorCode, message: string, details?: unknown): AppError {
  return new AppError(code, message, details);
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; requestId?: string };
}
