// What a page needs to do this library's callback with oauth4webapi: its
// protocol functions plus jose for the ID token signature.
export * from "oauth4webapi";
export { createRemoteJWKSet, importJWK, jwtVerify } from "jose";
