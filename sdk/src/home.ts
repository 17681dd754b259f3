import type { HttpClient } from './http.js';

/** A count and how many were created in each of the last weeks (oldest first). */
export interface HomeTrend {
  total: number;
  weekly: number[];
}

export type HomeAttention =
  | { kind: 'app_requests'; count: number }
  | { kind: 'workqueue'; queue: string; count: number }
  | { kind: 'enrol_totp' }
  | { kind: 'recovery_codes_low'; count: number };

export interface HomeRecent {
  kind: 'record' | 'dataset' | 'registration';
  /** A record's or registration's id; a dataset's accession. */
  id: string;
  /** Instrument name, dataset title or tracking id. */
  label: string;
  /** Subject identifier, accession or registration status. */
  detail: string;
  at: string;
}

/** The home page's summary. A count is absent when the caller cannot read that domain at all. */
export interface HomeSummary {
  /** Start of each weekly window of the trends (ISO), oldest first. */
  weekStarts: string[];
  counts: { subjects?: HomeTrend; records?: HomeTrend; datasets?: HomeTrend; registrations?: HomeTrend; pendingRequests?: number };
  attention: HomeAttention[];
  recent: HomeRecent[];
}

export class HomeApi {
  constructor(private readonly http: HttpClient) {}

  /** Counts with weekly trends, recent changes and what needs the caller's attention, within their reach. */
  summary(): Promise<HomeSummary> {
    return this.http.get('/api/v1/home');
  }
}
