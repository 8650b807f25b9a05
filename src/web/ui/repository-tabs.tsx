import type { ComponentType } from 'preact';
import { RepositoryActivity } from './pages/activity-page.tsx';
import { RepositoryBuilds } from './pages/builds-list.tsx';

/** What a repository tab's panel gets. `actions` are the caller's on this repository (from GET /api/v1/tags). */
export interface RepositoryTabProps {
  repository: string;
  actions: string[];
}

export interface RepositoryTab {
  /** The `?tab=` value; the tags tab is the default and has none. */
  id: string;
  label: string;
  panel: ComponentType<RepositoryTabProps>;
}

/**
 * The repository page's tabs after "Tags" (src/web/ui/pages/repository-page.tsx): one line each, e.g.
 * `{ id: 'builds', label: 'Builds', panel: RepositoryBuilds }`.
 */
export const repositoryTabs: RepositoryTab[] = [
  { id: 'builds', label: 'Builds', panel: RepositoryBuilds },
  { id: 'activity', label: 'Activity', panel: RepositoryActivity },
];
