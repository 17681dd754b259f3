import { ViewsApi } from '@cairn/sdk';
import { api } from '../../api.js';

/** The views part of the SDK on the web app's client (cookie mode). */
export const viewsApi = new ViewsApi(api.http);
