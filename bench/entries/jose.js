export * from "jose";
