/** The server's release, reported by /health, /metrics and the OpenAPI document. */
export const VERSION = '0.1.0';
