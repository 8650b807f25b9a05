/** The 2014 index's `GET /v1/search` answer: served by registry/v1, read by the engine's `docker search`. */
export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

/** The index's search answer, as the Hub and `docker search` (SearchResults) have it. */
export interface SearchPage {
  query: string;
  num_results: number;
  num_pages: number;
  page: number;
  page_size: number;
  results: SearchResult[];
}
