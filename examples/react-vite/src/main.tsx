import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { AuthProvider, useAuth } from "oidc-pkce/react";

// What `npm run provider` printed (in the oidc-pkce repository); your provider's values otherwise.
const issuer = import.meta.env.VITE_ISSUER ?? "http://127.0.0.1:4000";
const api = `${issuer}/api/`;

function Home() {
  const { isLoading, isAuthenticated, user, error, loginWithRedirect, logout, fetchWithAuth } = useAuth();
  const [greeting, setGreeting] = useState<string>();
  if (isLoading) return <p>Loading…</p>;
  if (isAuthenticated) {
    const callApi = async () => {
      const response = await fetchWithAuth(`${api}greeting`, { audience: api });
      setGreeting(response.ok ? (await response.json()).message : `The API said ${response.status}`);
    };
    return (
      <>
        <p>Hello {user?.name}</p>
        <button onClick={callApi}>Call the API</button>
        {greeting && <p id="greeting">{greeting}</p>}
        {/* Back to this app once signed out at the provider (without returnTo, the user stays on the provider's page). */}
        <button onClick={() => logout({ returnTo: location.origin })}>Log out</button>
      </>
    );
  }
  return (
    <>
      {/* A cancelled or failed login: say so, and let the user try again. */}
      {error && <p role="alert">Sign-in failed: {error.code}</p>}
      <button onClick={() => loginWithRedirect()}>Log in</button>
    </>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <AuthProvider
      options={{
        issuer,
        clientId: "my-app",
        redirectUri: location.origin + "/",
        scope: "openid profile email offline_access",
        apiParameter: "resource",
        apis: [api],
      }}
    >
      <Home />
    </AuthProvider>
  </StrictMode>,
);
