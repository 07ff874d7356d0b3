import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { Providers } from '@/lib/providers';
import { THEME_SCRIPT } from '@/components/ui/theme-toggle';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Wicket', template: '%s · Wicket' },
  description: 'Authorization proxy and operations plane for AI agents calling tools over MCP',
};

// Every page talks to the API from the browser; nothing is fetched or prerendered at build time, and
// the API address below is read per request so one build serves any deployment.
export const dynamic = 'force-dynamic';

function configuredApiUrl(): string {
  // Indexed reads: Next inlines `process.env.NEXT_PUBLIC_*` at build time, which would freeze the value.
  const env = process.env as Record<string, string | undefined>;
  return env['WICKET_API_URL'] ?? env['NEXT_PUBLIC_WICKET_API_URL'] ?? '';
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body>
        <Providers apiUrl={configuredApiUrl()}>{children}</Providers>
      </body>
    </html>
  );
}
