'use client';

import { useEffect, useState } from 'react';

type Theme = 'system' | 'light' | 'dark';
const STORAGE_KEY = 'wicket-theme';
const NEXT: Record<Theme, Theme> = { system: 'light', light: 'dark', dark: 'system' };

/** Runs before first paint (see app/layout.tsx) so a saved theme never flashes. */
export const THEME_SCRIPT = `(function(){try{var t=localStorage.getItem('${STORAGE_KEY}');if(t==='light'||t==='dark')document.documentElement.setAttribute('data-theme',t)}catch(e){}})()`;

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>('system');
  useEffect(() => {
    const saved = document.documentElement.getAttribute('data-theme');
    // Syncs from the attribute the pre-paint script set; there is no server value to hydrate from.
    if (saved === 'light' || saved === 'dark') setTheme(saved);
  }, []);

  const choose = (next: Theme) => {
    setTheme(next);
    try {
      if (next === 'system') localStorage.removeItem(STORAGE_KEY);
      else localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // Private mode without storage: the choice lasts for this page only.
    }
    if (next === 'system') document.documentElement.removeAttribute('data-theme');
    else document.documentElement.setAttribute('data-theme', next);
  };

  return (
    <button
      type="button"
      className="btn btn-ghost btn-sm"
      onClick={() => choose(NEXT[theme])}
      data-testid="theme-toggle"
      data-theme-choice={theme}
      title="Switch theme: system, light, dark"
    >
      Theme: {theme}
    </button>
  );
}
