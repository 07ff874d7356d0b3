import type { ReactNode } from 'react';
import { ThemeToggle } from '@/components/ui/theme-toggle';

export default function AuthLayout({ children }: { children: ReactNode }) {
  return (
    <main className="centered auth-layout">
      <div className="auth-brand">
        <span className="brand-mark" aria-hidden="true">◧</span> Wicket
      </div>
      {children}
      <div className="auth-footer">
        <ThemeToggle />
      </div>
    </main>
  );
}
