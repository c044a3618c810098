// oidc-pkce/backend: the browser's side of oidc-pkce/server alone (no WebAssembly).
import type { AuthClient, BackendOptions } from "./index.js";

export type { AuthClient, BackendOptions } from "./index.js";

/** The client API over a backend's routes (`createAuthClient({ backend })` does the same). */
export function createBackendClient(options: BackendOptions): Promise<AuthClient>;
