import type { ComponentType } from 'preact';
import { ActivityPage } from './pages/activity-page.tsx';
import { AdminAclPage } from './pages/admin-acl-page.tsx';
import { AdminGcPage } from './pages/admin-gc-page.tsx';
import { AdminQuotasPage } from './pages/admin-quotas-page.tsx';
import { AdminTokensPage } from './pages/admin-tokens-page.tsx';
import { AdminUsersPage } from './pages/admin-users-page.tsx';
import { BuildPage } from './pages/builds-page.tsx';
import { ManifestPage } from './pages/manifest-page.tsx';
import { RepositoriesPage } from './pages/repositories-page.tsx';
import { RepositoryPage } from './pages/repository-page.tsx';
import { SignInPage } from './pages/sign-in-page.tsx';
import type { Params } from './route-match.ts';
import type { PageProps } from './router.tsx';

export interface PageRoute {
  /** A route-match.ts pattern: `:param` is one segment, `:param+` several (repository names). */
  path: string;
  /** The document's title (before " · wharf"). */
  title: (params: Params) => string;
  page: ComponentType<PageProps>;
  /** Reachable without signing in when the registry allows anonymous browsing. Default true. */
  anonymous?: boolean;
}

/** The app's pages, first match wins: more specific patterns first. One line a page. */
export const routes: PageRoute[] = [
  { path: '/ui/', title: () => 'Repositories', page: RepositoriesPage },
  { path: '/ui/sign-in', title: () => 'Sign in', page: SignInPage },
  { path: '/ui/r/:name+/-/manifest/:reference', title: (p) => `${p.name}:${p.reference}`, page: ManifestPage },
  { path: '/ui/r/:name+', title: (p) => p.name, page: RepositoryPage },
  { path: '/ui/activity', title: () => 'Activity', page: ActivityPage },
  { path: '/ui/builds/:id', title: (p) => `Build ${p.id}`, page: BuildPage },
  { path: '/ui/admin', title: () => 'Users', page: AdminUsersPage },
  { path: '/ui/admin/users', title: () => 'Users', page: AdminUsersPage },
  { path: '/ui/admin/tokens', title: () => 'Robot tokens', page: AdminTokensPage },
  { path: '/ui/admin/acl', title: () => 'Access rules', page: AdminAclPage },
  { path: '/ui/admin/quotas', title: () => 'Quotas', page: AdminQuotasPage },
  { path: '/ui/admin/gc', title: () => 'Garbage collection', page: AdminGcPage },
];

export interface NavItem {
  href: string;
  label: string;
  /** Shown to administrators only. */
  admin?: boolean;
  /** Shown to signed-in users only. */
  signedIn?: boolean;
}

/** The header's links, in order. One line each. */
export const navItems: NavItem[] = [
  { href: '/ui/', label: 'Repositories' },
  { href: '/ui/activity', label: 'Activity' },
  { href: '/ui/admin/users', label: 'Administration', admin: true },
];
