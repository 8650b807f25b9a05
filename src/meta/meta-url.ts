/** True for the URLs `meta.url` accepts (a module of its own: deciding must not load the PostgreSQL client). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}
