// A React 19 app in StrictMode using oidc-pkce/react, for
// tests/e2e/bindings.test.mjs: built by Vite in development mode (StrictMode
// mounts twice only there), and served by Vite's dev server with
// @vitejs/plugin-react for fast refresh. The components are in App.jsx (a
// fast refresh boundary: plugin-react refreshes .jsx files), written with
// createElement, not JSX syntax: the build needs no plugin.
import { StrictMode, createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { Root } from "./App.jsx";

const config = await (await fetch("/config.json")).json();
createRoot(document.getElementById("root")).render(h(StrictMode, null, h(Root, { config })));
