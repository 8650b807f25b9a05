import { Link, type PageProps } from '../router.tsx';

export function NotFoundPage(_props: PageProps) {
  return (
    <section>
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        There is no page here. <Link href="/ui/">See the repositories</Link>.
      </p>
    </section>
  );
}
