/** The console's navigation, drawn by the shell; one entry per top-level route. */
export interface NavItem {
  href: string;
  label: string;
  testId: string;
  /** Whether a pathname belongs to this entry (for `aria-current`). */
  matches: (pathname: string) => boolean;
}

export const NAV_ITEMS: readonly NavItem[] = [
  { href: '/', label: 'Overview', testId: 'nav-overview', matches: (p) => p === '/' },
  { href: '/audit', label: 'Audit', testId: 'nav-audit', matches: (p) => p.startsWith('/audit') },
  { href: '/agents', label: 'Agents', testId: 'nav-agents', matches: (p) => p.startsWith('/agents') || p.startsWith('/policies') },
];
