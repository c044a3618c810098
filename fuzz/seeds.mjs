// Writes the seed corpus of each fuzz target (run once; the files are committed).
import { mkdirSync, writeFileSync } from "node:fs";
import { signJwt, publicJwk } from "../tests/e2e/harness.mjs";

const NOW = 1_800_000_000;
const ISS = "https://id.example.com";
const seeds = {
  callback_url: [
    `https://app.example.com/cb?code=abc&state=${"A".repeat(43)}&iss=https%3A%2F%2Fid.example.com`,
    "com.example.app://callback?error=access_denied&error_description=End-User+aborted&state=x",
    "com.example.app:/cb?code=1&code=2#id_token=x",
    "http://evil.test\\@localhost:8080/cb/./x/../?from=popup&code=c&state=s",
    "https://[2001:db8::7]:443/a/%2e%2E/cb?from=popup&error=login_required",
  ],
  token_response: [
    '\xc8\x00{"access_token":"at","token_type":"Bearer","expires_in":3600,"id_token":"a.b.c","refresh_token":"rt","scope":"openid"}',
    '\x90\x01{"error":"invalid_grant","error_description":"grant request is invalid"}',
    '\xc8\x00{"sub":"alice","email":"a@example.com"}',
  ],
  id_token: [
    signJwt({ iss: ISS, aud: "app", sub: "alice", nonce: "n-0S6_WzA2Mj", exp: NOW + 600, iat: NOW - 5, auth_time: NOW - 100 }),
    signJwt({ iss: ISS, aud: ["app", "x"], azp: "app", sub: "alice", nonce: "n-0S6_WzA2Mj", exp: NOW + 600, iat: NOW, auth_time: NOW }, { key: "ec" }),
  ],
  jwks: [JSON.stringify({ keys: [publicJwk("rsa"), publicJwk("ec"), { kty: "oct", k: "c2VjcmV0" }] })],
  discovery: [
    JSON.stringify({
      issuer: ISS, authorization_endpoint: `${ISS}/auth`, token_endpoint: `${ISS}/token`, jwks_uri: `${ISS}/jwks`,
      userinfo_endpoint: `${ISS}/me`, end_session_endpoint: `${ISS}/logout`, code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true, id_token_signing_alg_values_supported: ["RS256", "ES256"],
    }),
  ],
  stored_state: [
    JSON.stringify({ v: 1, client_id: "app", issuer: ISS, redirect_uri: "https://app/cb", state: "s".repeat(43), nonce: "n".repeat(43),
      code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", scope: "openid", max_age: 300, app_state: { to: "/" }, created_at_ms: 1 }),
    JSON.stringify({ v: 1, client_id: "app", issuer: ISS, access_token: "at", id_token: "h.p.s", refresh_token: "rt", token_type: "Bearer", expires_at_ms: 5 }),
  ],
};
for (const [target, list] of Object.entries(seeds)) {
  const dir = new URL(`./corpus/${target}/`, import.meta.url);
  mkdirSync(dir, { recursive: true });
  list.forEach((s, i) => writeFileSync(new URL(`seed-${i}`, dir), Buffer.from(s, "latin1")));
}
console.log("seeds written");
