import { AppsApi } from './apps.js';
import { AuthApi } from './auth.js';
import { DatasetsApi } from './datasets.js';
import { EventTypesApi } from './event-types.js';
import { EventsApi } from './events.js';
import { HttpClient, type CairnClientOptions } from './http.js';
import { HomeApi } from './home.js';
import { LedgerApi } from './ledger.js';
import { ProjectionsApi } from './projections.js';
import { RegistrationsApi, RegistrationTypesApi } from './registrations.js';
import { SetupApi, SystemApi } from './system.js';
import { SettingsApi, UsersApi } from './users.js';
import { ViewsApi } from './views.js';
import { LocationsApi, WorkspacesApi } from './workspaces.js';

/**
 * The typed Cairn client. One property per domain; a new capability adds its own file and
 * one line here.
 *
 *   const cairn = new CairnClient({ baseUrl: 'http://localhost:8080', token });
 *   for await (const e of cairn.events.iterate({ type: 'note.created' })) console.log(e.data);
 */
export class CairnClient {
  readonly http: HttpClient;
  readonly system: SystemApi;
  readonly setup: SetupApi;
  readonly auth: AuthApi;
  readonly users: UsersApi;
  readonly settings: SettingsApi;
  readonly workspaces: WorkspacesApi;
  /** The administrative hierarchy: import it from CSV, search it by name. */
  readonly locations: LocationsApi;
  readonly events: EventsApi;
  readonly ledger: LedgerApi;
  readonly projections: ProjectionsApi;
  readonly datasets: DatasetsApi;
  readonly apps: AppsApi;
  readonly eventTypes: EventTypesApi;
  readonly views: ViewsApi;
  readonly registrations: RegistrationsApi;
  readonly registrationTypes: RegistrationTypesApi;
  /** The home page's summary: counts, trends, recent changes, what needs attention. */
  readonly home: HomeApi;

  constructor(opts: CairnClientOptions) {
    this.http = new HttpClient(opts);
    this.system = new SystemApi(this.http);
    this.setup = new SetupApi(this.http);
    this.auth = new AuthApi(this.http);
    this.users = new UsersApi(this.http);
    this.settings = new SettingsApi(this.http);
    this.workspaces = new WorkspacesApi(this.http);
    this.locations = new LocationsApi(this.http);
    this.events = new EventsApi(this.http);
    this.ledger = new LedgerApi(this.http);
    this.projections = new ProjectionsApi(this.http);
    this.datasets = new DatasetsApi(this.http);
    this.apps = new AppsApi(this.http);
    this.eventTypes = new EventTypesApi(this.http);
    this.views = new ViewsApi(this.http);
    this.registrations = new RegistrationsApi(this.http);
    this.registrationTypes = new RegistrationTypesApi(this.http);
    this.home = new HomeApi(this.http);
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** Switches the bearer credential (e.g. after login, to the access token). */
  setToken(token: string | undefined): void {
    this.http.setToken(token);
  }

  health() {
    return this.system.health();
  }
}
