import type { Actor, JsonObject, LedgerEntry } from './events.js';
import { seg, type HttpClient } from './http.js';

export interface EventTypeSummary {
  /** Namespaced, e.g. `calendar.example/event`. */
  name: string;
  description: string;
  latestVersion: number;
  versionCount: number;
  /** The app that registered the type first (only it, or an administrator, adds versions). */
  ownerAppId: string | null;
  createdAt: string;
}

export interface EventTypeVersion {
  version: number;
  /** The JSON Schema (2020-12) of this version. */
  schema: unknown;
  /** sha256 of the canonical JSON of the schema. */
  schemaHash: string;
  createdBy: Actor;
  createdAt: string;
}

export interface EventTypeDetail extends EventTypeSummary {
  versions: EventTypeVersion[];
}

export interface RegisterEventTypeRequest {
  name: string;
  schema: JsonObject;
  description?: string;
  /** Assert which version you mean: an existing version with another schema is refused (409). */
  version?: number;
}

export interface RegisteredEventType extends EventTypeSummary {
  version: number;
  /** False when the schema was the latest already (nothing changed). */
  created: boolean;
  schemaHash: string;
}

/** A modified event: the new entry, plus the version it replaced and the event's stable identity. */
export interface ModifiedEvent<D = unknown> extends LedgerEntry<D> {
  previousId: string;
  rootId: string;
}

export interface EventHistory<D = unknown> {
  rootId: string;
  /** The current version; null once deleted. */
  currentId: string | null;
  /** Oldest first. */
  versions: LedgerEntry<D>[];
}

/** Type names hold a "/" that is part of the path: encode each part, keep the slashes. */
const typePath = (name: string) => name.split('/').map(seg).join('/');

/**
 * Event types (versioned JSON Schemas) and what typed events add to the foundation's events:
 * history, modify (a new version) and delete (a tombstone).
 */
export class EventTypesApi {
  constructor(private readonly http: HttpClient) {}

  /** Registers a type or the next version of its schema; the latest schema again is a no-op. */
  register(req: RegisterEventTypeRequest): Promise<RegisteredEventType> {
    return this.http.post('/api/v1/event-types', req);
  }
  async list(): Promise<EventTypeSummary[]> {
    return (await this.http.get<{ eventTypes: EventTypeSummary[] }>('/api/v1/event-types')).eventTypes;
  }
  /** One type with every version (or only `version`). */
  get(name: string, version?: number): Promise<EventTypeDetail> {
    return this.http.get(`/api/v1/event-types/${typePath(name)}`, { version });
  }

  /** Every version of an event, oldest first. */
  eventHistory<D = unknown>(id: string): Promise<EventHistory<D>> {
    return this.http.get(`/api/v1/events/${seg(id)}/versions`);
  }
  /** Appends the event's next version (needs modify on the stored entry's type). */
  modifyEvent<D extends JsonObject>(id: string, data: D, occurredAt?: string | Date): Promise<ModifiedEvent<D>> {
    const body: { data: D; occurredAt?: string } = { data };
    if (occurredAt !== undefined) body.occurredAt = occurredAt instanceof Date ? occurredAt.toISOString() : occurredAt;
    return this.http.patch(`/api/v1/events/${seg(id)}`, body);
  }
  /** Erases the data of every version of the event, leaving a tombstone. */
  deleteEvent(id: string): Promise<void> {
    return this.http.delete(`/api/v1/events/${seg(id)}`);
  }
}
