// Sign-in with the registry's own credentials (its htpasswd users).
import { useState } from 'preact/hooks';
import { api, setSession } from '../api';
import { navigate } from '../router';

export function LoginPage({ next }: { next: string }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    const result = await api.signIn(user, password);
    setBusy(false);
    if (!result.ok) {
      setError(result.status === 401 ? 'Wrong user name or password.' : result.message);
      return;
    }
    setPassword('');
    setSession(result.value);
    navigate(next, { replace: true });
  };
  return (
    <main id="main" class="login">
      <form class="card login-card" onSubmit={(event) => void submit(event)} aria-describedby={error !== null ? 'login-error' : undefined}>
        <h1>Sign in to the registry</h1>
        <p class="muted">Use the same user and password as for docker login.</p>
        <label for="login-user">User</label>
        <input id="login-user" name="username" autoComplete="username" required value={user} onInput={(event) => setUser(event.currentTarget.value)} autoFocus />
        <label for="login-password">Password</label>
        <input
          id="login-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(event) => setPassword(event.currentTarget.value)}
        />
        {error !== null && (
          <p id="login-error" class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
