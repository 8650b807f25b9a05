import type { ComponentChildren, FunctionComponent } from 'preact';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

export type AdminSection = 'users' | 'tokens' | 'acl' | 'quotas' | 'gc';

const sections: { id: AdminSection; label: string }[] = [
  { id: 'users', label: 'Users' },
  { id: 'tokens', label: 'Robot tokens' },
  { id: 'acl', label: 'Access rules' },
  { id: 'quotas', label: 'Quotas' },
  { id: 'gc', label: 'Garbage collection' },
];

/** Whether the signed-in caller may administer: every caller in auth mode none, as the API lets them. */
export function useIsAdmin(): boolean {
  const { info } = useSession();
  return info?.authMode === 'none' || info?.user?.admin === true;
}

/**
 * The frame of every administration page: its section navigation and heading. Non-admins get a sentence
 * instead of the page (the API refuses them anyway; this only spares them a page of errors).
 */
export function AdminLayout({ current, children }: { current: AdminSection; children: ComponentChildren }) {
  const admin = useIsAdmin();
  const title = sections.find((s) => s.id === current)?.label ?? 'Administration';
  if (!admin) {
    return (
      <section aria-labelledby="admin-title">
        <h1 id="admin-title" tabIndex={-1}>
          Administration
        </h1>
        <p>Only administrators may see this page. Sign in with an administrator's account.</p>
      </section>
    );
  }
  return (
    <section class="admin" aria-labelledby="admin-title">
      <nav class="tabs" aria-label="Administration">
        {sections.map((s) => (
          <Link key={s.id} href={`/ui/admin/${s.id}`} aria-current={s.id === current ? 'page' : undefined}>
            {s.label}
          </Link>
        ))}
      </nav>
      <h1 id="admin-title" tabIndex={-1}>
        {title}
      </h1>
      {children}
    </section>
  );
}

/** The page of an administration section: `Body` in the frame (AdminLayout). */
export function adminPage(current: AdminSection, Body: FunctionComponent): FunctionComponent {
  return function AdminPage() {
    return (
      <AdminLayout current={current}>
        <Body />
      </AdminLayout>
    );
  };
}
