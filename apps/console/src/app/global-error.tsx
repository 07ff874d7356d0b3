'use client';

/** Replaces the root layout when it fails, so it carries its own minimal, theme-neutral styles. */
export default function GlobalError({ error, retry }: { error: unknown; retry: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <html lang="en">
      <body style={{ fontFamily: 'system-ui, sans-serif', padding: '2rem', colorScheme: 'light dark' }}>
        <h1>Wicket could not start this page</h1>
        <p data-testid="error-message">{message}</p>
        <button type="button" onClick={() => retry()}>
          Try again
        </button>
      </body>
    </html>
  );
}
