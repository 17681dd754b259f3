// Filled in by the foundation: starts one embedded PostgreSQL for the whole run.
export default async function setup() {}
